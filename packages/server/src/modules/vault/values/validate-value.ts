import { AppError } from '../../../http/errors.js'
import { unstorableText } from '../../../lib/storable-text.js'
import type { FieldType } from '../models/model-types.js'

/**
 * The one validator for vault values: a record's field (create, batch, patch) and a filter's
 * operand both pass through `valueText`, so a value the vault accepts is one PostgreSQL parses into
 * its column without error, and a bad one is a 400 naming the field — never a 22xxx from the
 * database. See docs/vault-filters.md ("Types") for the grammar of each type.
 */

/** Longest string a record field holds, in characters (code points). */
export const MAX_VALUE_LENGTH = 100_000
/** Deepest nesting of a json field's value (arrays and objects). */
export const MAX_JSON_DEPTH = 64

export const invalidValue = (path: string, message: string): AppError => new AppError('validation_failed', `${path}: ${message}`, { path, issues: [{ path, message }] })

export const EXPECTED: Readonly<Record<FieldType, string>> = {
  integer: 'expected an integer',
  decimal: 'expected a number',
  string: 'expected a string',
  boolean: 'expected a boolean',
  date: "expected a date 'YYYY-MM-DD'",
  datetime: "expected an ISO 8601 date-time with a time zone, e.g. '2024-05-01T12:00:00Z'",
  json: 'expected a JSON value',
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
/**
 * Hours 00-23, seconds 00-59 (optional) and at most 6 fractional digits: PostgreSQL keeps
 * microseconds and would silently round a finer value or roll a leap second over, so a value means
 * exactly what it says. A zone is required: a date-time is never read in the server's zone.
 */
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,6})?)?(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)$/

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Years 0001-9999 (PostgreSQL has no year 0 in this notation) and a real day of the month: 2023-02-29 is not one. */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false
  const days = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0)
  return day <= days
}

const calendarDateOf = (match: RegExpExecArray | null): boolean => match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]))

/** A text value: bounded (in code points), and nothing PostgreSQL's text cannot hold exactly. */
export function checkText(value: string, path: string, maxLength: number): void {
  // Counting code points only matters near the limit; .length is an upper bound for it.
  if (value.length > maxLength && [...value].length > maxLength) throw invalidValue(path, `longer than ${maxLength} characters`)
  const problem = unstorableText(value)
  if (problem === 'nul') throw invalidValue(path, 'a string cannot contain the NUL character')
  if (problem === 'lone_surrogate') throw invalidValue(path, 'a string cannot contain an unpaired UTF-16 surrogate')
}

/** A json value: jsonb refuses \u0000 and lone surrogates in its strings and keys, so they are refused here first. */
function checkJson(value: unknown, path: string, depth: number): void {
  if (depth > MAX_JSON_DEPTH) throw invalidValue(path, `nested deeper than ${MAX_JSON_DEPTH}`)
  if (typeof value === 'string') return checkText(value, path, MAX_VALUE_LENGTH)
  if (typeof value === 'number' && !Number.isFinite(value)) throw invalidValue(path, 'expected a finite number')
  if (Array.isArray(value)) return value.forEach((item: unknown, index) => checkJson(item, `${path}.${index}`, depth + 1))
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      checkText(key, `${path} (a key)`, MAX_VALUE_LENGTH)
      checkJson(item, `${path}.${key.slice(0, 64)}`, depth + 1)
    }
  }
}

export interface ValueOptions {
  /** Longest string, in code points: MAX_VALUE_LENGTH unless the caller bounds it further. */
  maxLength?: number
}

/**
 * Checks a non-null value against a field's type and returns the text PostgreSQL parses for it
 * (bound as `$n::<column type>`, the same on PGlite and `pg`). A decimal travels as JavaScript's
 * shortest round-trip text ('0.1', '1e+21') and is cast to numeric, so it is stored and compared
 * exactly rather than in floating point; an integer must be safe (the column is bigint).
 */
export function valueText(type: FieldType, value: unknown, path: string, options: ValueOptions = {}): string {
  switch (type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidValue(path, EXPECTED.integer)
      if (!Number.isSafeInteger(value)) throw invalidValue(path, `expected an integer between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`)
      return String(value)
    case 'decimal':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidValue(path, EXPECTED.decimal)
      return String(value)
    case 'string':
      if (typeof value !== 'string') throw invalidValue(path, EXPECTED.string)
      checkText(value, path, options.maxLength ?? MAX_VALUE_LENGTH)
      return value
    case 'boolean':
      if (typeof value !== 'boolean') throw invalidValue(path, EXPECTED.boolean)
      return value ? 'true' : 'false'
    case 'date':
      if (typeof value !== 'string' || !calendarDateOf(DATE.exec(value))) throw invalidValue(path, EXPECTED.date)
      return value
    case 'datetime':
      if (typeof value !== 'string' || !calendarDateOf(DATETIME.exec(value))) throw invalidValue(path, EXPECTED.datetime)
      return value
    case 'json':
      if (value === undefined) throw invalidValue(path, EXPECTED.json)
      checkJson(value, path, 0)
      return JSON.stringify(value)
  }
}
