import { AppError } from '../../../http/errors.js'
import type { FieldType } from './filter-types.js'
import { MAX_STRING_LENGTH } from './filter-types.js'
import { IDENTIFIER, SQL_TYPES } from '../models/model-types.js'


/**
 * The only way a name reaches SQL text. Columns are validated where a model is defined; checking
 * again here means a bug there cannot become an injection here. A bad name is a programming error
 * (a 500), never the client's: clients' names are looked up in the field map, not quoted.
 */
export function quoteIdent(name: string): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) throw new Error(`not a valid SQL identifier: ${JSON.stringify(name)}`)
  return `"${name.replace(/"/g, '""')}"`
}

/** A path segment as shown in messages: a client's key may be long, so it is cut short. */
export const segment = (key: string | number): string => {
  const text = String(key)
  return text.length > 64 ? `${text.slice(0, 64)}…` : text
}

export const childPath = (path: string, key: string | number): string => `${path}.${segment(key)}`

export const invalid = (path: string, message: string): AppError => new AppError('validation_failed', `${path}: ${message}`, { path })

/** A JSON object (not an array, a class instance or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

export type ScalarType = Exclude<FieldType, 'json'>

/** The cast on each placeholder (the model's column types): every value is bound as text and parsed by PostgreSQL, on both drivers alike. */
export const SQL_TYPE: Readonly<Record<ScalarType, string>> = SQL_TYPES

const EXPECTED: Readonly<Record<ScalarType, string>> = {
  integer: 'expected an integer',
  decimal: 'expected a number',
  string: 'expected a string',
  boolean: 'expected a boolean',
  date: "expected a date 'YYYY-MM-DD'",
  datetime: "expected an ISO 8601 date-time with a time zone, e.g. '2024-05-01T12:00:00Z'",
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
/**
 * Seconds 00-59 and at most 6 fractional digits: PostgreSQL keeps microseconds and would silently
 * round a finer value or roll a leap second over, and a filter should mean exactly what it says.
 */
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.\d{1,6})?(?:Z|[+-](?:0\d|1[0-4]):[0-5]\d)$/
/** A UTF-16 surrogate without its partner: the drivers would silently send U+FFFD instead. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Years 0001-9999 (PostgreSQL has no year 0 in this notation) and a real day of the month. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false
  const days = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0)
  return day <= days
}

function calendarDateOf(match: RegExpExecArray | null): boolean {
  return match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]))
}

/** Checks a text value: bounded, and nothing PostgreSQL's text cannot hold exactly. */
export function checkText(value: string, path: string): void {
  // Counting code points only matters near the limit; .length is an upper bound for it.
  if (value.length > MAX_STRING_LENGTH && [...value].length > MAX_STRING_LENGTH) throw invalid(path, `longer than ${MAX_STRING_LENGTH} characters`)
  if (value.includes('\u0000')) throw invalid(path, 'a string cannot contain the NUL character')
  if (LONE_SURROGATE.test(value)) throw invalid(path, 'a string cannot contain an unpaired UTF-16 surrogate')
}

/**
 * Checks a non-null value against a field's type and returns the text PostgreSQL parses for it. A
 * decimal travels as JavaScript's shortest round-trip text ('0.1', '1e+21') and is cast to numeric,
 * so a comparison is exact rather than made in floating point.
 */
export function toParam(type: ScalarType, value: unknown, path: string): string {
  switch (type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(path, EXPECTED.integer)
      if (!Number.isSafeInteger(value)) throw invalid(path, `expected an integer between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`)
      return String(value)
    case 'decimal':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(path, EXPECTED.decimal)
      return String(value)
    case 'string':
      if (typeof value !== 'string') throw invalid(path, EXPECTED.string)
      checkText(value, path)
      return value
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(path, EXPECTED.boolean)
      return value ? 'true' : 'false'
    case 'date':
      if (typeof value !== 'string' || !calendarDateOf(DATE.exec(value))) throw invalid(path, EXPECTED.date)
      return value
    case 'datetime':
      if (typeof value !== 'string' || !calendarDateOf(DATETIME.exec(value))) throw invalid(path, EXPECTED.datetime)
      return value
  }
}

/** What a field of this type expects, for messages about null where a value is required. */
export const expectedFor = (type: ScalarType): string => EXPECTED[type]
