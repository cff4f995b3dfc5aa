import { AppError, forbidden } from '../../../http/errors.js'
import type { FieldType, Model } from '../models/model-types.js'
import type { Mask, ModelRule } from '../policies/vault-policy-types.js'

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { issues: [{ path, message }] })
const MAX_STRING = 100_000
const DATE = /^\d{4}-\d{2}-\d{2}$/
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/

/** One field's value from JSON, checked against its type; null clears it. */
function readValue(path: string, type: FieldType, value: unknown): unknown {
  if (value === null) return null
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw invalid(path, 'expected a string')
      if (value.length > MAX_STRING) throw invalid(path, `longer than ${MAX_STRING} characters`)
      return value
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid(path, 'expected an integer')
      return value
    case 'decimal':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path, 'expected a number')
      return String(value)
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(path, 'expected true or false')
      return value
    case 'date':
      if (typeof value !== 'string' || !DATE.test(value) || Number.isNaN(Date.parse(value))) throw invalid(path, 'expected a date like 2023-09-02')
      return value
    case 'datetime':
      if (typeof value !== 'string' || !DATETIME.test(value) || Number.isNaN(Date.parse(value))) throw invalid(path, 'expected a date-time like 2023-09-02T13:07:01Z')
      return value
    case 'json':
      return JSON.stringify(value)
  }
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
    values.set(name, readValue(`${path}.${name}`, field.type, value))
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
    const how = rule.masked?.[name]
    out[name] = how ? mask(value, how) : value
  }
  for (const name of ['created_at', 'updated_at'] as const) {
    if (only && !only.includes(name)) continue
    const value = row[name]
    out[name] = value instanceof Date ? formatTime(value) : value
  }
  return out
}
