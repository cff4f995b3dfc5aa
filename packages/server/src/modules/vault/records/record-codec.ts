import { AppError, forbidden } from '../../../http/errors.js'
import type { FieldType, Model } from '../models/model-types.js'
import type { Mask, ModelRule } from '../policies/vault-policy-types.js'
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

export const isReadable = (rule: ModelRule, field: string): boolean => !rule.readable || rule.readable.includes(field)
const isWritable = (rule: ModelRule, field: string): boolean => !rule.writable || rule.writable.includes(field)

/**
 * A record body → column values, for a create (`complete`: every required field present) or a
 * patch. Unknown fields are a 400; fields the policy does not let this client write are a 403
 * that names them.
 */
export function readRecord(model: Model, rule: ModelRule, body: unknown, path: string, complete: boolean): Map<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid(path, 'expected an object')
  const values = new Map<string, unknown>()
  const refused: string[] = []
  for (const [name, value] of Object.entries(body)) {
    if (name === 'created_at' || name === 'updated_at') throw invalid(`${path}.${name}`, 'set by the vault')
    const field = Object.prototype.hasOwnProperty.call(model.fields, name) ? model.fields[name] : undefined
    if (!field) throw invalid(`${path}.${name}`, `model '${model.name}' has no field '${name}'`)
    if (!isWritable(rule, name)) refused.push(name)
    values.set(name, readValue(`${path}.${name}`, field.type, value, name === model.primaryKey))
  }
  if (refused.length) throw forbidden(`your access policy does not let you write ${refused.map((name) => `'${name}'`).join(', ')} of model '${model.name}'`)
  if (complete) {
    for (const [name, field] of Object.entries(model.fields)) {
      if ((field.required || name === model.primaryKey) && (values.get(name) ?? null) === null) throw invalid(`${path}.${name}`, 'is required')
    }
  }
  return values
}

function mask(value: unknown, how: Mask): unknown {
  if (value === null || value === undefined) return value
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  if (how === 'full') return '****'
  if (how === 'last4') return `****${text.slice(-4)}`
  const at = text.indexOf('@')
  return at > 0 ? `${text[0]}***${text.slice(at)}` : '****'
}

/** `2023-09-02T13:07:01Z`, as the reference prints record times; sub-second parts only when present. */
export const formatTime = (value: Date): string => value.toISOString().replace('.000Z', 'Z')

/**
 * A row as the client may see it: readable fields only (absent, not null, as `last_name` is in
 * the reference), masked where the policy says, numbers as JSON numbers.
 */
export function writeRecord(model: Model, rule: ModelRule, row: Record<string, unknown>, only?: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, field] of Object.entries(model.fields)) {
    if (!isReadable(rule, name) && name !== model.primaryKey) continue
    if (only && !only.includes(name) && name !== model.primaryKey) continue
    let value = row[name]
    if (value !== null && value !== undefined) {
      if (field.type === 'decimal') value = Number(value)
      else if (field.type === 'datetime' && value instanceof Date) value = formatTime(value)
    }
    const how = rule.masked && Object.hasOwn(rule.masked, name) ? rule.masked[name] : undefined
    out[name] = how ? mask(value, how) : value
  }
  for (const name of ['created_at', 'updated_at'] as const) {
    if (only && !only.includes(name)) continue
    const value = row[name]
    out[name] = value instanceof Date ? formatTime(value) : value
  }
  return out
}
