import { convertedField, type FieldDefinition, type FieldType, type ModelDefinition } from './model-types.js'

/*
 * What a `PUT …/vault/models/{m}` would do to the model's table, decided before any DDL: the same
 * plan answers a dry run and drives the migration, so the dry run is exactly what would happen.
 */

/** One change to the table; `lossy` ones remove stored data and apply only when acknowledged. */
export type ModelChange =
  | { op: 'add'; field: string; to: FieldType; required: boolean; lossy: false; encrypted?: true; blindIndex?: true }
  | { op: 'drop'; field: string; from: FieldType; lossy: true; blindIndex?: true }
  | { op: 'widen'; field: string; from: FieldType; to: FieldType; lossy: false }
  | { op: 'require' | 'unrequire' | 'index' | 'unindex'; field: string; lossy: false }
  /**
   * A plain field made encrypted, or the reverse: a shadow column for the new form now, and a
   * background job (`vault.convert_field`) that rewrites the `records` stored (docs/vault-encryption.md).
   * `blindIndex`: the encrypted form has an equality index; `index`: the plain form has a B-tree index.
   */
  | { op: 'encrypt' | 'decrypt'; field: string; type: FieldType; required: boolean; records: number; lossy: false; blindIndex?: true; index?: true }

export interface ModelChangePlan {
  changes: ModelChange[]
  /** Fields whose column and data the change removes: every one must be named in the request's `drop`. */
  drops: string[]
  /** Why the change cannot be made at all, whatever is acknowledged (each a full sentence). */
  refused: string[]
}

/** Type changes that keep every value: widening a number, or anything to text. */
export const SAFE_CHANGES: Readonly<Partial<Record<FieldType, readonly FieldType[]>>> = {
  integer: ['decimal', 'string'],
  decimal: ['string'],
  boolean: ['string'],
  date: ['string', 'datetime'],
  datetime: ['string'],
}

const blindIndexed = (field: FieldDefinition): boolean => field.encrypted === true && field.searchable === 'equality'
/** Whether two definitions of a field store and index it alike (`expectedRows` only sized `indexBits`). */
const sameDefinition = (a: FieldDefinition, b: FieldDefinition): boolean =>
  a.type === b.type && Boolean(a.required) === Boolean(b.required) && Boolean(a.encrypted) === Boolean(b.encrypted) && (a.searchable ?? false) === (b.searchable ?? false) && a.indexBits === b.indexBits
const own = (fields: Record<string, FieldDefinition>, name: string): FieldDefinition | undefined => (Object.hasOwn(fields, name) ? fields[name] : undefined)

/**
 * Compares two definitions of one model. `rowCount` (records stored now) decides whether a new
 * required field can be added. Order: the current fields' changes in field order, then additions.
 * A narrowing type change is refused outright rather than made lossy-with-consent: the values it
 * would mangle are not a column one can name in `drop` (drop the field, then add it again instead).
 */
export function planModelChange(current: ModelDefinition, next: ModelDefinition, rowCount: number): ModelChangePlan {
  const changes: ModelChange[] = []
  const refused: string[] = []
  if (next.primaryKey !== current.primaryKey) {
    refused.push(`cannot change the primary key of model '${current.name}' from '${current.primaryKey}' to '${next.primaryKey}'`)
  }
  for (const [name, field] of Object.entries(current.fields)) {
    const wanted = own(next.fields, name)
    const isKey = name === current.primaryKey
    if (!wanted) {
      if (field.converting) refused.push(`cannot drop field '${name}' while job '${field.converting.job}' converts it: wait for the job to end`)
      else if (isKey) refused.push(`cannot drop the primary key '${name}' of model '${current.name}'`)
      else changes.push({ op: 'drop', field: name, from: field.type, lossy: true, ...(blindIndexed(field) ? { blindIndex: true as const } : {}) })
      continue
    }
    if (field.converting) {
      // One conversion at a time, and nothing else on the field meanwhile: the job owns its columns.
      const target = convertedField(field)
      if (!sameDefinition(wanted, target)) {
        refused.push(`field '${name}' is being made ${target.encrypted ? 'encrypted' : 'plain'} by job '${field.converting.job}': until it ends, send the field as it will be (${JSON.stringify(target)})`)
      }
      continue
    }
    if (Boolean(wanted.encrypted) !== Boolean(field.encrypted)) {
      const becomes = wanted.encrypted ? 'encrypted' : 'plain'
      if (wanted.type !== field.type) refused.push(`cannot change the type of field '${name}' while making it ${becomes}: make one change at a time`)
      else if (Boolean(wanted.required) !== Boolean(field.required)) refused.push(`cannot make field '${name}' ${wanted.required ? 'required' : 'optional'} while making it ${becomes}: make one change at a time`)
      else {
        const plainIndexed = (wanted.encrypted ? field : wanted).searchable === true
        changes.push({
          op: wanted.encrypted ? 'encrypt' : 'decrypt',
          field: name,
          type: field.type,
          required: Boolean(field.required),
          records: rowCount,
          lossy: false,
          ...(blindIndexed(wanted) || blindIndexed(field) ? { blindIndex: true as const } : {}),
          ...(plainIndexed ? { index: true as const } : {}),
        })
      }
      continue
    }
    if (field.encrypted) {
      if (wanted.type !== field.type) refused.push(`cannot change the type of encrypted field '${name}': add a new field and copy the values instead`)
      else if (blindIndexed(wanted) !== blindIndexed(field) || (blindIndexed(field) && wanted.indexBits !== field.indexBits)) {
        refused.push(`changing the equality index of encrypted field '${name}' re-indexes every record: add a new field and copy the values instead (a background re-indexing job is not available yet)`)
      } else if (Boolean(wanted.required) !== Boolean(field.required)) changes.push({ op: wanted.required ? 'require' : 'unrequire', field: name, lossy: false })
      continue
    }
    if (wanted.type !== field.type) {
      if (isKey || !SAFE_CHANGES[field.type]?.includes(wanted.type)) {
        refused.push(`changing field '${name}' from ${field.type} to ${wanted.type} could lose data; add a new field and copy the values instead`)
      } else changes.push({ op: 'widen', field: name, from: field.type, to: wanted.type, lossy: false })
    }
    if (isKey) continue
    if (Boolean(wanted.required) !== Boolean(field.required)) changes.push({ op: wanted.required ? 'require' : 'unrequire', field: name, lossy: false })
    if (Boolean(wanted.searchable) !== Boolean(field.searchable)) changes.push({ op: wanted.searchable ? 'index' : 'unindex', field: name, lossy: false })
  }
  for (const [name, field] of Object.entries(next.fields)) {
    if (own(current.fields, name)) continue
    if (field.required && rowCount > 0) {
      refused.push(`cannot add required field '${name}': ${rowCount} existing records have no value for it; add it as optional first`)
      continue
    }
    if (field.encrypted) {
      changes.push({ op: 'add', field: name, to: field.type, required: Boolean(field.required), lossy: false, encrypted: true, ...(blindIndexed(field) ? { blindIndex: true as const } : {}) })
      continue
    }
    changes.push({ op: 'add', field: name, to: field.type, required: Boolean(field.required), lossy: false })
    if (field.searchable) changes.push({ op: 'index', field: name, lossy: false })
  }
  return { changes, drops: changes.filter((change) => change.lossy).map((change) => change.field), refused }
}
