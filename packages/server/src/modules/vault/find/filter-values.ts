import type { AppError } from '../../../http/errors.js'
import type { FieldType } from './filter-types.js'
import { MAX_STRING_LENGTH } from './filter-types.js'
import { IDENTIFIER, SQL_TYPES } from '../models/model-types.js'
import { checkText as checkValueText, EXPECTED, invalidValue, valueText } from '../values/validate-value.js'


/**
 * The only way a name reaches SQL text. Columns are validated where a model is defined; checking
 * again here means a bug there cannot become an injection here. A bad name is a programming error
 * (a 500), never the client's: clients' names are looked up in the field map, not quoted.
 */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) throw new Error(`not a valid SQL identifier: ${JSON.stringify(name)}`)
  return `"${name.replace(/"/g, '""')}"`
}

/** A blind index column (`_bi_…`, the vault's own name, never a client's). */
export function quoteIndexColumn(name: string): string {
  if (typeof name !== 'string' || !/^_bi_[a-z0-9_]{1,59}$/.test(name)) throw new Error(`not a blind index column: ${JSON.stringify(name)}`)
  return `"${name}"`
}

/** A column of a converting field: its own name, or its shadow column (`_cv_…`, the vault's own name). */
export function quoteStoredColumn(name: string): string {
  if (typeof name === 'string' && /^_cv_[a-z0-9_]{1,59}$/.test(name)) return `"${name}"`
  return quoteIdent(name)
}

/** A path segment as shown in messages: a client's key may be long, so it is cut short. */
export const segment = (key: string | number): string => {
  const text = String(key)
  return text.length > 64 ? `${text.slice(0, 64)}…` : text
}

export const childPath = (path: string, key: string | number): string => `${path}.${segment(key)}`

/** The same envelope as the value validator's and the schema's: `details.issues` lists the one problem. */
export const invalid = (path: string, message: string): AppError => invalidValue(path, message)

/** A JSON object (not an array, a class instance or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

export type ScalarType = Exclude<FieldType, 'json'>

/** The cast on each placeholder (the model's column types): every value is bound as text and parsed by PostgreSQL, on both drivers alike. */
export const SQL_TYPE: Readonly<Record<ScalarType, string>> = SQL_TYPES

/** Checks a text value (a string operand, a $like pattern): bounded, and nothing PostgreSQL's text cannot hold exactly. */
export const checkText = (value: string, path: string): void => checkValueText(value, path, MAX_STRING_LENGTH)

/**
 * Checks a non-null operand against a field's type and returns the text PostgreSQL parses for it:
 * the vault's one value validator (values/validate-value.ts), with a filter's shorter string bound.
 */
export const toParam = (type: ScalarType, value: unknown, path: string): string => valueText(type, value, path, { maxLength: MAX_STRING_LENGTH })

/** What a field of this type expects, for messages about null where a value is required. */
export const expectedFor = (type: ScalarType): string => EXPECTED[type]
