import { AppError } from '../../../http/errors.js'
import type { FieldType, Model } from '../models/model-types.js'
import type { ModelRule } from '../policies/vault-policy-types.js'
import { checkWritableFields } from '../policy/check-writable-fields.js'
import { maskRecord, shownFields } from '../policy/mask-record.js'
import type { ResolvedTable } from './resolved-table.js'
import { invalidValue, valueText } from '../values/validate-value.js'

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { issues: [{ path, message }] })

/**
 * The longest record id, in characters (code points): the same bound on create, batch and the
 * `/:id` routes, so every record the vault creates can be read, changed and deleted by its id.
 */
export const MAX_RECORD_ID_LENGTH = 128

/** One field's value from JSON, checked by the vault's one value validator; null clears it. */
function readValue(path: string, type: FieldType, value: unknown, isKey: boolean): unknown {
  if (value === null) return null
  if (isKey && type === 'string') {
    if (value === '') throw invalidValue(path, 'a record id cannot be empty')
    return valueText(type, value, path, { maxLength: MAX_RECORD_ID_LENGTH })
  }
  return valueText(type, value, path)
}

/**
 * A record body → column values, for a create (`complete`: every required field present) or a
 * patch. Unknown fields are a 400; fields the policy does not let this client write are a 403
 * that names them.
 */
export function readRecord(model: Model, rule: ModelRule, body: unknown, path: string, complete: boolean): Map<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid(path, 'expected an object')
  const values = new Map<string, unknown>()
  for (const [name, value] of Object.entries(body)) {
    if (name === 'created_at' || name === 'updated_at') throw invalid(`${path}.${name}`, 'set by the vault')
    const field = Object.prototype.hasOwnProperty.call(model.fields, name) ? model.fields[name] : undefined
    if (!field) throw invalid(`${path}.${name}`, `model '${model.name}' has no field '${name}'`)
    values.set(name, readValue(`${path}.${name}`, field.type, value, name === model.primaryKey))
  }
  checkWritableFields(model, rule, values.keys())
  if (complete) {
    for (const [name, field] of Object.entries(model.fields)) {
      if ((field.required || name === model.primaryKey) && (values.get(name) ?? null) === null) throw invalid(`${path}.${name}`, 'is required')
    }
  }
  return values
}

/** `2023-09-02T13:07:01Z`, as the reference prints record times; sub-second parts only when present. */
export const formatTime = (value: Date): string => value.toISOString().replace('.000Z', 'Z')

/**
 * A stored row in its JSON form: numbers as JSON numbers, times as the reference prints them.
 * Every field of the model; what the client may see of it is policy/mask-record.ts's decision.
 */
export function decodeRow(model: Pick<Model, 'fields'>, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, field] of Object.entries(model.fields)) {
    let value = row[name]
    if (value !== null && value !== undefined) {
      if (field.type === 'decimal') value = Number(value)
      else if (field.type === 'datetime' && value instanceof Date) value = formatTime(value)
    }
    out[name] = value
  }
  for (const name of ['created_at', 'updated_at'] as const) {
    const value = row[name]
    out[name] = value instanceof Date ? formatTime(value) : value
  }
  return out
}

/**
 * A stored row as this client may see it: only the fields it is shown are decrypted, then the row
 * is decoded, projected and masked by its rule (masking after decryption).
 */
export function writeRecord(table: Pick<ResolvedTable, 'open'>, model: Model, rule: ModelRule, row: Record<string, unknown>, only?: readonly string[]): Record<string, unknown> {
  return maskRecord(model, rule, decodeRow(model, table.open(row, shownFields(model, rule, only))), only)
}
