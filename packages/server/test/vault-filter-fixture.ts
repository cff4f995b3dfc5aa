import fc from 'fast-check'
import type { Queryable } from '../src/db/db.js'
import type { FieldSpec, FieldType } from '../src/modules/vault/find/filter-types.js'
import type { Row } from './vault-filter-evaluator.js'

/**
 * One table with a column of every field type, for the filter tests. Field names differ from column
 * names (and two columns are reserved words) so the tests notice a field reaching SQL unmapped.
 */
export const FIELDS: ReadonlyMap<string, FieldSpec> = new Map(
  (
    [
      ['id', 'integer', 'id'],
      ['age', 'integer', 'c_age'],
      ['ratio', 'decimal', 'c_ratio'],
      ['name', 'string', 'user'],
      ['active', 'boolean', 'order'],
      ['born', 'date', 'c_born'],
      ['seen', 'datetime', 'c_seen'],
      ['doc', 'json', 'c_doc'],
    ] as const
  ).map(([name, type, column]) => [name, { name, type, column }]),
)

const SQL_TYPES: Record<FieldType, string> = {
  integer: 'bigint',
  decimal: 'numeric',
  string: 'text',
  boolean: 'boolean',
  date: 'date',
  datetime: 'timestamptz',
  json: 'jsonb',
}

export async function createTable(db: Queryable, table = 't'): Promise<void> {
  const columns = [...FIELDS.values()].map((f) => (f.name === 'id' ? 'id integer PRIMARY KEY' : `"${f.column}" ${SQL_TYPES[f.type]}`))
  await db.query(`CREATE TABLE ${table} (${columns.join(', ')})`)
}

/** Writes rows through the drivers' ordinary text parameters, independently of the compiler. */
export async function insertRows(db: Queryable, rows: readonly Row[], table = 't'): Promise<void> {
  if (rows.length === 0) return
  const specs = [...FIELDS.values()]
  const params: unknown[] = []
  const tuples = rows.map((row) => {
    const cells = specs.map((spec) => {
      const value = row[spec.name]
      if (spec.type === 'json') params.push(value === undefined ? null : JSON.stringify(value))
      else params.push(value === null || value === undefined ? null : String(value))
      return `$${params.length}::${spec.name === 'id' ? 'integer' : SQL_TYPES[spec.type]}`
    })
    return `(${cells.join(', ')})`
  })
  await db.query(`INSERT INTO ${table} (${specs.map((s) => `"${s.column}"`).join(', ')}) VALUES ${tuples.join(', ')}`, params)
}

// --- values: small pools mixed with the whole range, so equalities and ties actually happen ---

export const integerValue = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER), fc.maxSafeInteger())

export const decimalValue = fc.oneof(
  fc.constantFrom(0, -0, 0.1, 0.2, 0.30000000000000004, 0.3, 1.5, -2, 4, 4.000000000000001, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 100000),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
)

/** Characters where LIKE, quoting and byte order can go wrong: '😀' sorts before '\uE000' in UTF-16 but after it in code points. */
const CHARS = ['a', 'b', 'A', '%', '_', '\\', "'", '"', ';', '-', ' ', '\n', 'é', '😀', '\uE000', '\uFFFF', 'ß']
export const stringValue = fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 4 })

/** Tokens of a valid pattern (never a dangling backslash): wildcards, escaped wildcards, plain characters. */
export const likePattern = fc
  .array(fc.constantFrom('%', '_', 'a', 'b', 'A', 'é', '😀', "'", '\\%', '\\_', '\\\\', '\\a', '\uE000'), { maxLength: 4 })
  .map((tokens) => tokens.join(''))

const dayMs = (text: string) => new Date(`${text}T00:00:00Z`).getTime()
export const dateValue = fc.oneof(
  fc.constantFrom('2024-02-29', '2024-03-01', '0001-01-01', '9999-12-31', '1970-01-01', '1969-12-31'),
  fc.integer({ min: dayMs('0001-01-01') / 86_400_000, max: dayMs('9999-12-31') / 86_400_000 }).map((day) => new Date(day * 86_400_000).toISOString().slice(0, 10)),
)

const pad = (value: number, width: number) => String(value).padStart(width, '0')

/** A date-time text for an instant, written in a given offset with 0-6 fractional digits. */
function formatInstant(ms: number, micros: number, offsetMinutes: number, zulu: boolean, trim: boolean): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString() // years 0002-9998: always 'YYYY-…'
  let fraction = pad(((ms % 1000) + 1000) % 1000, 3) + pad(micros, 3)
  if (trim) fraction = fraction.replace(/0+$/, '')
  const sign = offsetMinutes < 0 ? '-' : '+'
  const offset = Math.abs(offsetMinutes)
  const zone = offsetMinutes === 0 && zulu ? 'Z' : `${sign}${pad(Math.floor(offset / 60), 2)}:${pad(offset % 60, 2)}`
  return `${local.slice(0, 19)}${fraction ? `.${fraction}` : ''}${zone}`
}

const instantMs = fc.oneof(
  fc.constantFrom(0, -1, 1_700_000_000_000, 1_700_000_000_001, 951_782_400_000),
  fc.integer({ min: new Date('0002-01-01T00:00:00Z').getTime(), max: new Date('9998-12-31T00:00:00Z').getTime() }),
)
export const datetimeValue = fc
  .tuple(instantMs, fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999 })), fc.constantFrom(0, 60, -60, 330, -570, 840, -840, 45), fc.boolean(), fc.boolean())
  .map(([ms, micros, offset, zulu, trim]) => formatInstant(ms, micros, offset, zulu, trim))

/** JSON values; undefined is SQL NULL and null a stored JSON null. */
export const jsonValue = fc.constantFrom<unknown>(undefined, null, { a: 1 }, [], 'x', 0, false)

export const VALUE_OF: Record<Exclude<FieldType, 'json'>, fc.Arbitrary<unknown>> = {
  integer: integerValue,
  decimal: decimalValue,
  string: stringValue,
  boolean: fc.boolean(),
  date: dateValue,
  datetime: datetimeValue,
}

export const rowsArb: fc.Arbitrary<Row[]> = fc
  .array(
    fc.record({
      age: fc.option(integerValue, { nil: null, freq: 4 }),
      ratio: fc.option(decimalValue, { nil: null, freq: 4 }),
      name: fc.option(stringValue, { nil: null, freq: 4 }),
      active: fc.option(fc.boolean(), { nil: null, freq: 4 }),
      born: fc.option(dateValue, { nil: null, freq: 4 }),
      seen: fc.option(datetimeValue, { nil: null, freq: 4 }),
      doc: jsonValue,
    }),
    { minLength: 2, maxLength: 12 },
  )
  .map((rows) => rows.map((row, index) => ({ id: index + 1, ...row })))
