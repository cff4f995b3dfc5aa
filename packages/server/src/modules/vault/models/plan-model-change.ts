import type { FieldDefinition, FieldType, ModelDefinition } from './model-types.js'

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
      if (isKey) refused.push(`cannot drop the primary key '${name}' of model '${current.name}'`)
      else changes.push({ op: 'drop', field: name, from: field.type, lossy: true, ...(blindIndexed(field) ? { blindIndex: true as const } : {}) })
      continue
    }
    if (Boolean(wanted.encrypted) !== Boolean(field.encrypted)) {
      refused.push(`making field '${name}' ${wanted.encrypted ? 'encrypted' : 'plain'} rewrites every record: add a new field that is ${wanted.encrypted ? 'encrypted' : 'plain'} and copy the values instead (a background re-encryption job is not available yet)`)
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
