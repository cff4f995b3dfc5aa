import type { FieldSpec, FieldType } from '../src/modules/vault/find/filter-types.js'

/**
 * A reference implementation of the filter language, for tests only: what a filter means, written
 * as plainly as possible and independently of the SQL compiler, which the property test checks
 * against it. It assumes a valid filter (the compiler does the refusing).
 *
 * A row maps field names to values: numbers, strings ('YYYY-MM-DD' for dates, ISO 8601 with an
 * offset for date-times), booleans, and null for SQL NULL. For json fields `undefined` is SQL NULL
 * and `null` is a stored JSON null: both are "missing".
 */
export type Row = Readonly<Record<string, unknown>>
type Filter = Readonly<Record<string, unknown>>

const isObject = (value: unknown): value is Filter => typeof value === 'object' && value !== null && !Array.isArray(value)

export function isMissing(value: unknown): boolean {
  return value === null || value === undefined
}

/** Code point order: what PostgreSQL's COLLATE "C" gives on UTF-8 (bytes), not JavaScript's UTF-16 order. */
export function compareCodePoints(a: string, b: string): number {
  const left = [...a]
  const right = [...b]
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = (left[i] as string).codePointAt(0)! - (right[i] as string).codePointAt(0)!
    if (difference !== 0) return Math.sign(difference)
  }
  return Math.sign(left.length - right.length)
}

const DAY_MICROS = 86_400_000_000n

/** Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146_097 + dayOfEra - 719_468
}

/** An ISO 8601 date-time with an offset, as microseconds since the epoch (exact, hence bigint). */
export function instantMicros(text: string): bigint {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(text)
  if (!match) throw new Error(`not a date-time: ${text}`)
  const [, y, mo, d, h, mi, s, fraction = '', zone, sign, oh = '0', om = '0'] = match
  const days = BigInt(daysFromCivil(Number(y), Number(mo), Number(d)))
  const seconds = BigInt(Number(h) * 3600 + Number(mi) * 60 + Number(s))
  const offset = zone === 'Z' ? 0n : BigInt((sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60))
  return days * DAY_MICROS + (seconds - offset) * 1_000_000n + BigInt(fraction.padEnd(6, '0'))
}

/** Orders two present values of one type (booleans: false before true, as in PostgreSQL). */
export function compareValues(type: FieldType, a: unknown, b: unknown): number {
  switch (type) {
    case 'integer':
    case 'decimal':
      // Exact: distinct doubles have distinct shortest decimal texts, in the same order.
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0
    case 'string':
      return compareCodePoints(a as string, b as string)
    case 'boolean':
      return Number(a) - Number(b)
    case 'date':
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0
    case 'datetime': {
      const difference = instantMicros(a as string) - instantMicros(b as string)
      return difference < 0n ? -1 : difference > 0n ? 1 : 0
    }
    case 'json':
      throw new Error('json values are not compared')
  }
}

/** SQL LIKE: % any run, _ one character (code point), backslash escapes the next character. */
export function like(value: string, pattern: string): boolean {
  const text = [...value]
  const tokens: Array<{ kind: '%' | '_' | 'char'; char?: string }> = []
  const chars = [...pattern]
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] as string
    if (char === '\\') tokens.push({ kind: 'char', char: chars[++i] as string })
    else if (char === '%' || char === '_') tokens.push({ kind: char })
    else tokens.push({ kind: 'char', char })
  }
  // can[j]: the tokens so far match text[0..j).
  let can = text.map(() => false).concat(false)
  can[0] = true
  for (const token of tokens) {
    const next = can.map(() => false)
    for (let j = 0; j <= text.length; j++) {
      if (token.kind === '%') next[j] = can[j] === true || (j > 0 && next[j - 1] === true)
      else if (j > 0 && can[j - 1] && (token.kind === '_' || token.char === text[j - 1])) next[j] = true
    }
    can = next
  }
  return can[text.length] === true
}

function equalsValue(type: FieldType, present: unknown, wanted: unknown): boolean {
  if (wanted === null) return isMissing(present)
  return !isMissing(present) && compareValues(type, present, wanted) === 0
}

function operator(field: FieldSpec, value: unknown, op: string, arg: unknown): boolean {
  const missing = isMissing(value)
  switch (op) {
    case '$eq':
      return equalsValue(field.type, value, arg)
    case '$ne':
      return !equalsValue(field.type, value, arg)
    case '$gt':
      return !missing && compareValues(field.type, value, arg) > 0
    case '$gte':
      return !missing && compareValues(field.type, value, arg) >= 0
    case '$lt':
      return !missing && compareValues(field.type, value, arg) < 0
    case '$lte':
      return !missing && compareValues(field.type, value, arg) <= 0
    case '$in':
      return (arg as unknown[]).some((wanted) => equalsValue(field.type, value, wanted))
    case '$nin':
      return !(arg as unknown[]).some((wanted) => equalsValue(field.type, value, wanted))
    case '$like':
      return !missing && like(value as string, arg as string)
    case '$exists':
      return missing !== arg
    case '$not':
      return !operators(field, value, arg as Filter)
    default:
      throw new Error(`evaluator: unknown operator ${op}`)
  }
}

function operators(field: FieldSpec, value: unknown, ops: Filter): boolean {
  return Object.entries(ops).every(([op, arg]) => operator(field, value, op, arg))
}

export function matches(filter: unknown, row: Row, fields: ReadonlyMap<string, FieldSpec>): boolean {
  if (filter === undefined) return true
  return Object.entries(filter as Filter).every(([key, value]) => {
    if (key === '$and') return (value as unknown[]).every((item) => matches(item, row, fields))
    if (key === '$or') return (value as unknown[]).some((item) => matches(item, row, fields))
    const field = fields.get(key)
    if (!field) throw new Error(`evaluator: unknown field ${key}`)
    const present = row[key]
    return isObject(value) ? operators(field, present, value) : equalsValue(field.type, present, value)
  })
}

/** The rows' ids in sort order: missing values after every value ascending, before them descending; ties by id. */
export function sortIds(rows: readonly Row[], sort: ReadonlyArray<Record<string, 'asc' | 'desc'>>, fields: ReadonlyMap<string, FieldSpec>): number[] {
  const order = (a: Row, b: Row): number => {
    for (const entry of sort) {
      const [name, direction] = Object.entries(entry)[0] as [string, 'asc' | 'desc']
      const type = (fields.get(name) as FieldSpec).type
      const [x, y] = [a[name], b[name]]
      const [mx, my] = [isMissing(x), isMissing(y)]
      const ascending = mx && my ? 0 : mx ? 1 : my ? -1 : compareValues(type, x, y)
      const result = direction === 'asc' ? ascending : -ascending
      if (result !== 0) return result
    }
    return (a.id as number) - (b.id as number)
  }
  return [...rows].sort(order).map((row) => row.id as number)
}
