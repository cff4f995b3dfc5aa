import { canonicalText } from '../crypto/field-values.js'
import type { CompiledFilter, ExactCheck, FieldSpec, FilterOptions } from './filter-types.js'
import { COMPARISON_OPERATORS, DEFAULT_MAX_DEPTH, DEFAULT_MAX_IN, MAX_CONDITIONS, MAX_PARAMS } from './filter-types.js'
import { checkText, childPath, expectedFor, invalid, isPlainObject, quoteIdent, quoteIndexColumn, quoteStoredColumn, type ScalarType, SQL_TYPE, segment, toParam } from './filter-values.js'

/*
 * Compiles a filter (see docs/vault-filters.md) into a parameterised boolean SQL expression. Client
 * input reaches the SQL text only as placeholders and as the quoted column of a field found in
 * `options.fields`; everything else in the text is a constant of this file.
 *
 * NULL semantics, mirrored by test/vault-filter-evaluator.ts: a missing value (SQL NULL; for json
 * also JSON null) never satisfies a positive comparison ($eq v, $gt…, $in, $like), and each negative
 * form is the exact complement of its positive one ($ne of $eq, $nin of $in, $not of its operators),
 * so it does match missing values. Every expression is either two-valued or NULL only where the
 * positive form is false, which is why WHERE may treat NULL as false.
 */

export type { CompiledFilter, ExactCheck, FieldSpec, FieldType, FilterOptions, SortOptions } from './filter-types.js'
export { quoteIdent } from './filter-values.js'
export { compileSort } from './sort-compiler.js'

const OPERATORS: ReadonlySet<string> = new Set(COMPARISON_OPERATORS)
const RANGE: Readonly<Record<string, string>> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' }

interface Context {
  fields: ReadonlyMap<string, FieldSpec>
  readable: (field: string) => boolean
  firstParam: number
  maxDepth: number
  maxIn: number
  /** Text, except blind index values (bytes: PGlite encodes a bytea parameter only from bytes). */
  params: unknown[]
  conditions: number
  checks: ExactCheck[]
}

const and = (parts: string[]): string => (parts.length === 0 ? 'TRUE' : parts.length === 1 ? (parts[0] as string) : `(${parts.join(' AND ')})`)
/** The complement of an expression that may be NULL: NULL counts as "did not match". */
const complement = (sql: string): string => `(NOT coalesce(${sql}, false))`

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new Error(`compileFilter: ${name} must be a positive integer`)
  return value
}

export function compileFilter(filter: unknown, options: FilterOptions): CompiledFilter {
  const ctx: Context = {
    fields: options.fields,
    readable: options.readable,
    firstParam: positiveInteger(options.firstParam, 'firstParam', 1),
    maxDepth: positiveInteger(options.maxDepth, 'maxDepth', DEFAULT_MAX_DEPTH),
    maxIn: positiveInteger(options.maxIn, 'maxIn', DEFAULT_MAX_IN),
    params: [],
    conditions: 0,
    checks: [],
  }
  if (filter === undefined) return { sql: 'TRUE', params: [] }
  const sql = compileNode(ctx, filter, 'filter', 0, true)
  return ctx.checks.length ? { sql, params: ctx.params, checks: ctx.checks } : { sql, params: ctx.params }
}

function bind(ctx: Context, text: string, type: ScalarType): string {
  if (ctx.params.length >= MAX_PARAMS) throw invalid('filter', `more than ${MAX_PARAMS} values`)
  ctx.params.push(text)
  return `$${ctx.firstParam + ctx.params.length - 1}::${SQL_TYPE[type]}`
}

/** A blind index value, bound as bytes. */
function bindBytes(ctx: Context, bytes: Buffer): string {
  if (ctx.params.length >= MAX_PARAMS) throw invalid('filter', `more than ${MAX_PARAMS} values`)
  ctx.params.push(bytes)
  return `$${ctx.firstParam + ctx.params.length - 1}::bytea`
}

function count(ctx: Context): void {
  ctx.conditions += 1
  if (ctx.conditions > MAX_CONDITIONS) throw invalid('filter', `more than ${MAX_CONDITIONS} conditions`)
}

function deeper(ctx: Context, depth: number): number {
  if (depth + 1 > ctx.maxDepth) throw invalid('filter', `nested deeper than ${ctx.maxDepth}`)
  return depth + 1
}

/**
 * A filter object: its keys are ANDed. `exact` is true while every enclosing node is an AND (the
 * top, $and): only there can an encrypted field's blind-index lookup be narrowed by an exact check
 * after decryption, since a row the index let through wrongly is then simply dropped.
 */
function compileNode(ctx: Context, node: unknown, path: string, depth: number, exact: boolean): string {
  if (!isPlainObject(node)) throw invalid(path, 'expected an object')
  const parts: string[] = []
  // Object.entries: own keys only, so '__proto__' or 'constructor' are just unknown names.
  for (const [key, value] of Object.entries(node)) {
    const here = childPath(path, key)
    if (key === '$and' || key === '$or') {
      const level = deeper(ctx, depth)
      if (!Array.isArray(value) || value.length === 0) throw invalid(here, 'expected a non-empty array of filters')
      const items = value.map((item, index) => {
        count(ctx)
        return compileNode(ctx, item, childPath(here, index), level, exact && key === '$and')
      })
      parts.push(items.length === 1 ? (items[0] as string) : `(${items.join(key === '$and' ? ' AND ' : ' OR ')})`)
    } else if (key.startsWith('$')) {
      if (OPERATORS.has(key)) throw invalid(here, `operator '${key}' must be applied to a field, e.g. {"age": {"${key}": …}}`)
      throw invalid(here, `unknown operator '${segment(key)}'`)
    } else {
      const field = ctx.fields.get(key)
      if (!field) throw invalid(here, `unknown field '${segment(key)}'`)
      if (!ctx.readable(key)) throw invalid(here, 'you cannot filter on this field')
      parts.push(isPlainObject(value) ? compileOperators(ctx, field, value, here, depth, exact) : compileEquals(ctx, field, value, here, exact))
    }
  }
  return and(parts)
}

/** `{ field: value }` and `$eq`: null means missing. */
function compileEquals(ctx: Context, field: FieldSpec, value: unknown, path: string, exact: boolean): string {
  if (value !== null && (field.encrypted || field.converting)) return compileEncrypted(ctx, field, '$eq', value, path, exact)
  count(ctx)
  if (value === null) return isMissing(field)
  if (field.type === 'json') throw invalid(path, 'a json field can only be compared with null or filtered with $exists')
  return `${quoteIdent(field.column)} = ${bind(ctx, toParam(field.type, value, path), field.type)}`
}

/** Missing: SQL NULL, and for json also a stored JSON null (so "null" and "absent" are one thing). */
function isMissing(field: FieldSpec): string {
  // Converting: missing in both forms (a row holds at most one).
  if (field.converting) return `(${isMissing({ name: field.name, type: field.type, column: field.converting.plain })} AND ${quoteStoredColumn(field.converting.cipher)} IS NULL)`
  const column = quoteStoredColumn(field.column)
  // The ::jsonb cast lets a json column work as well as a jsonb one; on jsonb it is a no-op.
  // An encrypted json value is ciphertext: JSON null is never stored (a null clears the field), so SQL NULL is all of "missing".
  return field.type === 'json' && !field.encrypted ? `coalesce(jsonb_typeof(${column}::jsonb), 'null') = 'null'` : `${column} IS NULL`
}

function isPresent(field: FieldSpec): string {
  if (field.converting) return complement(isMissing(field))
  const column = quoteIdent(field.column)
  return field.type === 'json' && !field.encrypted ? `coalesce(jsonb_typeof(${column}::jsonb), 'null') <> 'null'` : `${column} IS NOT NULL`
}

/** An operator object: its operators are ANDed. */
function compileOperators(ctx: Context, field: FieldSpec, ops: Record<string, unknown>, path: string, depth: number, exact: boolean): string {
  const entries = Object.entries(ops)
  if (entries.length === 0) throw invalid(path, 'expected a value or at least one operator')
  return and(entries.map(([op, arg]) => compileOperator(ctx, field, op, arg, childPath(path, op), depth, exact)))
}

function compileOperator(ctx: Context, field: FieldSpec, op: string, arg: unknown, path: string, depth: number, exact: boolean): string {
  if (!OPERATORS.has(op)) throw invalid(path, `unknown operator '${segment(op)}'`)
  if (op === '$not') {
    const level = deeper(ctx, depth)
    if (!isPlainObject(arg)) throw invalid(path, 'expected an operator object, e.g. {"$not": {"$gt": 1}}')
    return complement(compileOperators(ctx, field, arg, path, level, false))
  }
  if (op === '$exists') {
    count(ctx)
    if (typeof arg !== 'boolean') throw invalid(path, 'expected a boolean')
    return arg ? isPresent(field) : isMissing(field)
  }
  if (op === '$eq') return compileEquals(ctx, field, arg, path, exact)
  if (op === '$ne') {
    if (arg === null) {
      count(ctx)
      return isPresent(field)
    }
    if (field.encrypted || field.converting) return compileEncrypted(ctx, field, op, arg, path, exact)
    if (field.type === 'json') throw invalid(path, 'a json field can only be compared with null or filtered with $exists')
    count(ctx)
    return `${quoteIdent(field.column)} IS DISTINCT FROM ${bind(ctx, toParam(field.type, arg, path), field.type)}`
  }
  const type = field.type
  if (type === 'json') throw invalid(path, `${op} does not apply to json fields`)
  if (field.converting) {
    if (op === '$in' || op === '$nin') return compileEncrypted(ctx, field, op, arg, path, exact)
    throw invalid(path, `field '${field.name}' is being made ${field.converting.to} by job '${field.converting.job}': until it ends only $eq, $in, $ne, $nin, null and $exists apply to it`)
  }
  if (field.encrypted) {
    if (op === '$in' || op === '$nin') return compileEncrypted(ctx, field, op, arg, path, exact)
    throw invalid(path, `field '${field.name}' is encrypted: only $eq, $in, $ne, $nin (by its blind index), null and $exists apply to it; ${op === '$like' ? 'a pattern' : 'an order'} would need the plaintext`)
  }
  count(ctx)
  const column = quoteIdent(field.column)
  if (op === '$in' || op === '$nin') {
    const positive = compileIn(ctx, field, type, arg, path)
    return op === '$in' ? positive : complement(positive)
  }
  if (op === '$like') {
    if (type !== 'string') throw invalid(path, '$like applies only to string fields')
    if (typeof arg !== 'string') throw invalid(path, 'expected a string pattern')
    checkText(arg, path)
    if (endsWithEscape(arg)) throw invalid(path, 'a pattern cannot end with an unescaped backslash')
    // LIKE's default escape character is the backslash, whatever standard_conforming_strings says.
    return `${column} LIKE ${bind(ctx, arg, 'string')}`
  }
  const comparison = RANGE[op]
  if (comparison === undefined) throw new Error(`compileFilter: operator ${op} has no translation`)
  if (type === 'boolean') throw invalid(path, `${op} does not apply to boolean fields`)
  if (arg === null) throw invalid(path, expectedFor(type))
  // Byte (code point) order, the same on every server and locale; sort-compiler.ts agrees.
  const left = type === 'string' ? `${column} COLLATE "C"` : column
  return `${left} ${comparison} ${bind(ctx, toParam(type, arg, path), type)}`
}

/**
 * `IN ($a, $b, …)`, one placeholder per value: the same text works on PGlite and `pg` without
 * relying on either driver's array encoding. A null in the list means "or missing".
 */
function compileIn(ctx: Context, field: FieldSpec, type: ScalarType, arg: unknown, path: string): string {
  if (!Array.isArray(arg)) throw invalid(path, 'expected an array')
  if (arg.length > ctx.maxIn) throw invalid(path, `more than ${ctx.maxIn} values`)
  const placeholders: string[] = []
  let withNull = false
  arg.forEach((value: unknown, index) => {
    if (value === null) withNull = true
    else placeholders.push(bind(ctx, toParam(type, value, childPath(path, index)), type))
  })
  const column = quoteIdent(field.column)
  const listed = placeholders.length > 0 ? `${column} IN (${placeholders.join(', ')})` : null
  if (listed && withNull) return `(${listed} OR ${column} IS NULL)`
  return listed ?? (withNull ? `${column} IS NULL` : 'FALSE')
}

/** True when the pattern's last backslash escapes nothing (PostgreSQL would reject the pattern). */
function endsWithEscape(pattern: string): boolean {
  let escaping = false
  for (const char of pattern) escaping = escaping ? false : char === '\\'
  return escaping
}

/** The values an equality operator names: its array for $in/$nin (bounded), else the one value. */
function listedValues(ctx: Context, op: '$eq' | '$ne' | '$in' | '$nin', arg: unknown, path: string): unknown[] {
  if (op !== '$in' && op !== '$nin') return [arg]
  if (!Array.isArray(arg)) throw invalid(path, 'expected an array')
  if (arg.length > ctx.maxIn) throw invalid(path, `more than ${ctx.maxIn} values`)
  return arg
}

/**
 * $eq/$in/$ne/$nin on an encrypted field. The blind index only narrows (other values share an index
 * value on purpose), so the positive forms look up the index under every searchable key version and
 * record an exact check; the negative forms cannot exclude anything by index (a row sharing the
 * value's index may hold another value) and are decided by their exact check alone.
 */
function compileEncrypted(ctx: Context, field: FieldSpec, op: '$eq' | '$ne' | '$in' | '$nin', arg: unknown, path: string, exact: boolean): string {
  if (field.converting) return compileConverting(ctx, field, op, arg, path, exact)
  const index = field.encrypted?.index
  if (!index) {
    throw invalid(path, `field '${field.name}' is encrypted without an equality index: only null and $exists apply to it (define it with "searchable": "equality" to filter by value)`)
  }
  if (!exact) throw invalid(path, `field '${field.name}' is encrypted: filter it by value at the top of the filter or inside $and, not inside $or or $not`)
  const type = field.type as ScalarType
  count(ctx)
  const listed = listedValues(ctx, op, arg, path)
  const values = listed.flatMap((value, index) => (value === null ? [] : [canonicalText(type, toParam(type, value, op === '$in' || op === '$nin' ? childPath(path, index) : path))]))
  const withNull = listed.length > values.length
  const positive = op === '$eq' || op === '$in'
  ctx.checks.push({ field: field.name, op: positive ? 'in' : 'nin', values, withNull })
  if (!positive) return 'TRUE'
  const hashes = [...new Set(values.flatMap((value) => index.lookup(value).map((hash) => hash.toString('hex'))))].map((hex) => Buffer.from(hex, 'hex'))
  const column = quoteIndexColumn(index.column)
  const lookup = hashes.length ? `${column} IN (${hashes.map((hash) => bindBytes(ctx, hash)).join(', ')})` : null
  if (lookup && withNull) return `(${lookup} OR ${isMissing(field)})`
  return lookup ?? (withNull ? isMissing(field) : 'FALSE')
}

/**
 * $eq/$in/$ne/$nin on a field a job is converting. A row holds the value in the plain column or as
 * ciphertext (never both): the plain column is compared exactly in SQL, the ciphertext through the
 * blind index and an exact check after decryption that skips rows holding the plain form
 * (ResolvedTable.exactText). So the answer is the one the field gave before the job and will give
 * after it, whichever rows the job has reached. Without an equality index for the encrypted form,
 * only null and $exists apply, as on an encrypted field.
 */
function compileConverting(ctx: Context, field: FieldSpec, op: '$eq' | '$ne' | '$in' | '$nin', arg: unknown, path: string, exact: boolean): string {
  const conv = field.converting!
  const index = conv.index
  if (!index) {
    throw invalid(path, `field '${field.name}' is being made ${conv.to} by job '${conv.job}' and its encrypted form has no equality index: until the job ends, only null and $exists apply to it`)
  }
  if (!exact) throw invalid(path, `field '${field.name}' is being made ${conv.to} by job '${conv.job}': until it ends, filter it by value at the top of the filter or inside $and, not inside $or or $not`)
  const type = field.type as ScalarType
  count(ctx)
  const listed = listedValues(ctx, op, arg, path)
  const texts = listed.flatMap((value, at) => (value === null ? [] : [toParam(type, value, op === '$in' || op === '$nin' ? childPath(path, at) : path)]))
  const values = texts.map((text) => canonicalText(type, text))
  const withNull = listed.length > texts.length
  const positive = op === '$eq' || op === '$in'
  ctx.checks.push({ field: field.name, op: positive ? 'in' : 'nin', values, withNull })
  const plain = quoteStoredColumn(conv.plain)
  const plainListed = texts.length ? `${plain} IN (${texts.map((text) => bind(ctx, text, type)).join(', ')})` : null
  if (!positive) {
    // A row holding ciphertext is decided by the exact check; one holding the plain form (or nothing), here.
    const listedHere = [plainListed, withNull ? `${plain} IS NULL` : null].filter((part): part is string => part !== null)
    return listedHere.length ? `(${quoteStoredColumn(conv.cipher)} IS NOT NULL OR ${complement(`(${listedHere.join(' OR ')})`)})` : 'TRUE'
  }
  const hashes = [...new Set(values.flatMap((value) => index.lookup(value).map((hash) => hash.toString('hex'))))].map((hex) => Buffer.from(hex, 'hex'))
  const lookup = hashes.length ? `${quoteIndexColumn(index.column)} IN (${hashes.map((hash) => bindBytes(ctx, hash)).join(', ')})` : null
  const parts = [plainListed, lookup, withNull ? isMissing(field) : null].filter((part): part is string => part !== null)
  return parts.length ? `(${parts.join(' OR ')})` : 'FALSE'
}
