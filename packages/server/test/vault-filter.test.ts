import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppError } from '../src/http/errors.js'
import { compileFilter, compileSort, quoteIdent } from '../src/modules/vault/find/filter-compiler.js'
import type { FieldSpec, FieldType, FilterOptions } from '../src/modules/vault/find/filter-types.js'
import { openTestDb, type TestDb } from './harness.js'
import { createTable, FIELDS, insertRows } from './vault-filter-fixture.js'

/** A customer model as in InCountry's examples; last_name is hidden from this caller. */
const CUSTOMER: ReadonlyMap<string, FieldSpec> = new Map(
  (
    [
      ['id', 'string', 'id'],
      ['first_name', 'string', 'first_name'],
      ['last_name', 'string', 'last_name'],
      ['age', 'integer', 'age'],
      ['deals_ratio', 'decimal', 'deals_ratio'],
      ['yearly_spending', 'decimal', 'yearly_spending'],
      ['active', 'boolean', 'active'],
      ['born', 'date', 'born'],
      ['created_at', 'datetime', 'created_at'],
      ['profile', 'json', 'profile'],
    ] as Array<[string, FieldType, string]>
  ).map(([name, type, column]) => [name, { name, type, column }]),
)
const readable = (field: string) => field !== 'last_name'
const options = (extra: Partial<FilterOptions> = {}): FilterOptions => ({ fields: CUSTOMER, readable, firstParam: 1, ...extra })
const compile = (filter: unknown, extra: Partial<FilterOptions> = {}) => compileFilter(filter, options(extra))

function refusal(run: () => unknown): AppError {
  try {
    run()
  } catch (error) {
    if (error instanceof AppError) return error
    throw error
  }
  throw new Error('expected a refusal')
}
const messageOf = (filter: unknown, extra: Partial<FilterOptions> = {}) => refusal(() => compile(filter, extra)).message
const sortMessageOf = (sort: unknown) => refusal(() => compileSort(sort, { fields: CUSTOMER, readable })).message

const nest = (levels: number, leaf: object): object => (levels === 0 ? leaf : { $and: [nest(levels - 1, leaf)] })
const notGt = (levels: number): object => (levels === 0 ? { $gt: 1 } : { $not: notGt(levels - 1) })

describe('compiled SQL', () => {
  it('is TRUE for no filter, and numbers placeholders from firstParam', () => {
    expect(compile(undefined)).toEqual({ sql: 'TRUE', params: [] })
    expect(compile({})).toEqual({ sql: 'TRUE', params: [] })
    expect(compile({ deals_ratio: { $gt: 4.0 }, yearly_spending: { $lte: 100000 } }, { firstParam: 3 })).toEqual({
      sql: '("deals_ratio" > $3::numeric AND "yearly_spending" <= $4::numeric)',
      params: ['4', '100000'],
    })
  })

  it('spells out the NULL semantics', () => {
    expect(compile({ age: null }).sql).toBe('"age" IS NULL')
    expect(compile({ age: { $ne: null } }).sql).toBe('"age" IS NOT NULL')
    expect(compile({ age: { $ne: 3 } }).sql).toBe('"age" IS DISTINCT FROM $1::bigint')
    expect(compile({ age: { $in: [1, null] } }).sql).toBe('("age" IN ($1::bigint) OR "age" IS NULL)')
    expect(compile({ age: { $nin: [1, 2] } }).sql).toBe('(NOT coalesce("age" IN ($1::bigint, $2::bigint), false))')
    expect(compile({ age: { $in: [] } }).sql).toBe('FALSE')
    expect(compile({ age: { $nin: [] } }).sql).toBe('(NOT coalesce(FALSE, false))')
    expect(compile({ age: { $not: { $gt: 1, $lt: 9 } } }).sql).toBe('(NOT coalesce(("age" > $1::bigint AND "age" < $2::bigint), false))')
    expect(compile({ profile: { $exists: true } }).sql).toBe(`coalesce(jsonb_typeof("profile"::jsonb), 'null') <> 'null'`)
    expect(compile({ profile: null }).sql).toBe(`coalesce(jsonb_typeof("profile"::jsonb), 'null') = 'null'`)
  })

  it('compares strings by code point and binds every value as text', () => {
    expect(compile({ first_name: { $gte: 'M', $like: 'Ma%' }, active: true, born: { $lt: '2000-01-01' } })).toEqual({
      sql: '(("first_name" COLLATE "C" >= $1::text AND "first_name" LIKE $2::text) AND "active" = $3::boolean AND "born" < $4::date)',
      params: ['M', 'Ma%', 'true', '2000-01-01'],
    })
    // Decimals travel as their shortest exact text, so numeric compares the number the client wrote.
    expect(compile({ deals_ratio: { $in: [0.1, 1e21, -0] } }).params).toEqual(['0.1', '1e+21', '0'])
  })

  it('quoteIdent quotes valid names and refuses anything else', () => {
    expect(quoteIdent('user')).toBe('"user"')
    expect(quoteIdent(`a${'b'.repeat(62)}`)).toBe(`"a${'b'.repeat(62)}"`)
    for (const bad of ['', 'A', '1a', 'a-b', 'a"b', 'a b', `a${'b'.repeat(63)}`, 'é', 'a;drop']) expect(() => quoteIdent(bad)).toThrow(/not a valid SQL identifier/)
  })

  it('compiles sorts, missing values last ascending and first descending', () => {
    expect(compileSort(undefined, { fields: CUSTOMER, readable })).toBe('')
    expect(compileSort([], { fields: CUSTOMER, readable })).toBe('')
    expect(compileSort([{ first_name: 'asc' }, { created_at: 'desc' }], { fields: CUSTOMER, readable })).toBe(' ORDER BY "first_name" COLLATE "C" ASC NULLS LAST, "created_at" DESC NULLS FIRST')
  })
})

describe('invalid filters are refused with a message naming the path', () => {
  const tooDeep = nest(7, { age: 1 })
  const cases: Array<[string, unknown, string]> = [
    ['wrong type for a decimal', { deals_ratio: { $gt: 'x' } }, 'filter.deals_ratio.$gt: expected a number'],
    ['unknown field', { nope: 1 }, "filter.nope: unknown field 'nope'"],
    ['unknown operator', { age: { $regex: 'a' } }, "filter.age.$regex: unknown operator '$regex'"],
    ['a key that is not an operator', { age: { foo: 1 } }, "filter.age.foo: unknown operator 'foo'"],
    ['too deep', tooDeep, 'filter: nested deeper than 6'],
    ['too deep through $not', { $and: [{ $and: [{ $and: [{ $and: [{ age: notGt(3) }] }] }] }] }, 'filter: nested deeper than 6'],
    ['too many values', { id: { $in: Array.from({ length: 1001 }, (_, i) => String(i)) } }, 'filter.id.$in: more than 1000 values'],
    ['unreadable field', { last_name: 'Smith' }, 'filter.last_name: you cannot filter on this field'],
    ['unreadable field, existence only', { $or: [{ age: 1 }, { last_name: { $exists: true } }] }, 'filter.$or.1.last_name: you cannot filter on this field'],
    ['not an integer', { age: 1.5 }, 'filter.age: expected an integer'],
    ['an integer as a string', { age: '1' }, 'filter.age: expected an integer'],
    ['an unsafe integer', { age: 2 ** 53 }, 'filter.age: expected an integer between -9007199254740991 and 9007199254740991'],
    ['an array as a value', { age: [1] }, 'filter.age: expected an integer'],
    ['an empty operator object', { age: {} }, 'filter.age: expected a value or at least one operator'],
    ['null in a range', { age: { $gt: null } }, 'filter.age.$gt: expected an integer'],
    ['not finite', { deals_ratio: Number.POSITIVE_INFINITY }, 'filter.deals_ratio: expected a number'],
    ['NaN', { deals_ratio: { $lt: Number.NaN } }, 'filter.deals_ratio.$lt: expected a number'],
    ['a range on a boolean', { active: { $gt: true } }, 'filter.active.$gt: $gt does not apply to boolean fields'],
    ['a boolean as a string', { active: 'true' }, 'filter.active: expected a boolean'],
    ['$like on a number', { age: { $like: '1%' } }, 'filter.age.$like: $like applies only to string fields'],
    ['$like without a string', { first_name: { $like: 5 } }, 'filter.first_name.$like: expected a string pattern'],
    ['$like with a dangling escape', { first_name: { $like: 'a\\' } }, 'filter.first_name.$like: a pattern cannot end with an unescaped backslash'],
    ['a NUL character', { first_name: 'a\u0000b' }, 'filter.first_name: a string cannot contain the NUL character'],
    ['an unpaired surrogate', { first_name: { $ne: 'a\ud800' } }, 'filter.first_name.$ne: a string cannot contain an unpaired UTF-16 surrogate'],
    ['a long string', { first_name: { $in: ['ok', 'x'.repeat(10_001)] } }, 'filter.first_name.$in.1: longer than 10000 characters'],
    ['$exists without a boolean', { first_name: { $exists: 'yes' } }, 'filter.first_name.$exists: expected a boolean'],
    ['$in without an array', { age: { $in: 5 } }, 'filter.age.$in: expected an array'],
    ['$nin with a wrong element', { age: { $nin: [1, 'two'] } }, 'filter.age.$nin.1: expected an integer'],
    ['$in with an object element', { first_name: { $in: [{ $ne: 'x' }] } }, 'filter.first_name.$in.0: expected a string'],
    ['$not without an object', { age: { $not: 5 } }, 'filter.age.$not: expected an operator object, e.g. {"$not": {"$gt": 1}}'],
    ['$not with a bad operand', { age: { $not: { $gt: 'x' } } }, 'filter.age.$not.$gt: expected an integer'],
    ['$not with a field inside', { age: { $not: { age: 1 } } }, "filter.age.$not.age: unknown operator 'age'"],
    ['an empty $or', { $or: [] }, 'filter.$or: expected a non-empty array of filters'],
    ['$and with an object', { $and: {} }, 'filter.$and: expected a non-empty array of filters'],
    ['$and with a non-object', { $and: [1] }, 'filter.$and.0: expected an object'],
    ['deep in $or', { $or: [{}, { $and: [{ nope: 1 }] }] }, "filter.$or.1.$and.0.nope: unknown field 'nope'"],
    ['top-level $not', { $not: { age: 1 } }, 'filter.$not: operator \'$not\' must be applied to a field, e.g. {"age": {"$not": …}}'],
    ['top-level comparison', { $gt: 1 }, 'filter.$gt: operator \'$gt\' must be applied to a field, e.g. {"age": {"$gt": …}}'],
    ['$where', { $where: 'sleep(1)' }, "filter.$where: unknown operator '$where'"],
    ['$or inside a field', { age: { $or: [{ $gt: 1 }] } }, "filter.age.$or: unknown operator '$or'"],
    ['an impossible date', { born: '2023-02-29' }, "filter.born: expected a date 'YYYY-MM-DD'"],
    ['a sloppy date', { born: { $gt: '2024-1-01' } }, "filter.born.$gt: expected a date 'YYYY-MM-DD'"],
    ['year zero', { born: '0000-01-01' }, "filter.born: expected a date 'YYYY-MM-DD'"],
    ['a date-time without a zone', { created_at: { $gte: '2024-05-01T12:00:00' } }, "filter.created_at.$gte: expected an ISO 8601 date-time with a time zone, e.g. '2024-05-01T12:00:00Z'"],
    ['hour 24', { created_at: '2024-05-01T24:00:00Z' }, "filter.created_at: expected an ISO 8601 date-time with a time zone, e.g. '2024-05-01T12:00:00Z'"],
    ['nanoseconds', { created_at: '2024-05-01T12:00:00.1234567Z' }, "filter.created_at: expected an ISO 8601 date-time with a time zone, e.g. '2024-05-01T12:00:00Z'"],
    ['a space for T', { created_at: '2024-05-01 12:00:00Z' }, "filter.created_at: expected an ISO 8601 date-time with a time zone, e.g. '2024-05-01T12:00:00Z'"],
    ['a range on json', { profile: { $gt: 1 } }, 'filter.profile.$gt: $gt does not apply to json fields'],
    ['$in on json', { profile: { $in: [null] } }, 'filter.profile.$in: $in does not apply to json fields'],
    ['json equality', { profile: { a: 1 } }, "filter.profile.a: unknown operator 'a'"],
    ['json equality with a scalar', { profile: 5 }, 'filter.profile: a json field can only be compared with null or filtered with $exists'],
    ['json $ne a value', { profile: { $ne: 'x' } }, 'filter.profile.$ne: a json field can only be compared with null or filtered with $exists'],
    ['an array filter', [], 'filter: expected an object'],
    ['a null filter', null, 'filter: expected an object'],
    ['a string filter', "1=1; DROP TABLE t", 'filter: expected an object'],
    ['__proto__ as a field', JSON.parse('{"__proto__": {"$gt": 1}}'), "filter.__proto__: unknown field '__proto__'"],
    ['constructor as a field', { constructor: 1 }, "filter.constructor: unknown field 'constructor'"],
    ['__proto__ as an operator', { age: JSON.parse('{"__proto__": 1}') }, "filter.age.__proto__: unknown operator '__proto__'"],
    ['toString as an operator', { age: { toString: 1 } }, "filter.age.toString: unknown operator 'toString'"],
    ['too many conditions', { $or: Array.from({ length: 1001 }, () => ({})) }, 'filter: more than 1000 conditions'],
  ]

  it.each(cases)('%s', (_name, filter, message) => {
    const error = refusal(() => compile(filter))
    expect(error.message).toBe(message)
    expect(error.code).toBe('validation_failed')
    expect(error.status).toBe(400)
    const path = message.slice(0, message.indexOf(': '))
    expect(error.details).toEqual({ path, issues: [{ path, message: message.slice(path.length + 2) }] })
  })

  const sortCases: Array<[string, unknown, string]> = [
    ['not an array', { first_name: 'asc' }, 'options.sort: expected an array of {"<field>": "asc" | "desc"}'],
    ['too many entries', ['id', 'first_name', 'age', 'active', 'born', 'created_at'].map((f) => ({ [f]: 'asc' })), 'options.sort: more than 5 entries'],
    ['not an object', ['first_name'], 'options.sort.0: expected an object {"<field>": "asc" | "desc"}'],
    ['no field', [{}], 'options.sort.0: expected exactly one field'],
    ['two fields in one entry', [{ age: 'asc', born: 'asc' }], 'options.sort.0: expected exactly one field'],
    ['bad direction', [{ first_name: 'up' }], "options.sort.0.first_name: expected 'asc' or 'desc'"],
    ['upper-case direction', [{ age: 'asc' }, { first_name: 'DESC' }], "options.sort.1.first_name: expected 'asc' or 'desc'"],
    ['unknown field', [{ nope: 'asc' }], "options.sort.0.nope: unknown field 'nope'"],
    ['unreadable field', [{ last_name: 'asc' }], 'options.sort.0.last_name: you cannot sort on this field'],
    ['a json field', [{ profile: 'asc' }], 'options.sort.0.profile: a json field cannot be sorted on'],
    ['the same field twice', [{ age: 'asc' }, { age: 'desc' }], 'options.sort.1.age: this field is already sorted on'],
    ['__proto__', [JSON.parse('{"__proto__": "asc"}')], "options.sort.0.__proto__: unknown field '__proto__'"],
  ]

  it.each(sortCases)('sort: %s', (_name, sort, message) => {
    expect(sortMessageOf(sort)).toBe(message)
  })
})

describe('bounds', () => {
  it('allows exactly maxDepth levels of $and/$or/$not', () => {
    expect(() => compile(nest(6, { age: 1 }))).not.toThrow()
    expect(() => compile(nest(2, { age: notGt(4) }))).not.toThrow()
    expect(messageOf(nest(2, { age: notGt(5) }))).toBe('filter: nested deeper than 6')
    expect(() => compile(nest(2, { age: 1 }), { maxDepth: 2 })).not.toThrow()
    expect(messageOf(nest(3, { age: 1 }), { maxDepth: 2 })).toBe('filter: nested deeper than 2')
  })

  it('allows exactly maxIn values in $in and $nin', () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => i)
    expect(compile({ age: { $in: values(1000) } }).params).toHaveLength(1000)
    expect(messageOf({ age: { $nin: values(1001) } })).toBe('filter.age.$nin: more than 1000 values')
    expect(() => compile({ age: { $in: values(3) } }, { maxIn: 3 })).not.toThrow()
    expect(messageOf({ age: { $in: values(4) } }, { maxIn: 3 })).toBe('filter.age.$in: more than 3 values')
    // Values in total stay far below PostgreSQL's 65,535 parameters, whatever maxIn allows.
    expect(messageOf({ $or: [{ age: { $in: values(6000) } }, { age: { $in: values(6000) } }] }, { maxIn: 10_000 })).toBe('filter: more than 10000 values')
  })

  it('refuses an unreadable field wherever it appears, and in sorts', () => {
    expect(messageOf({ age: 1, last_name: { $not: { $exists: false } } })).toBe('filter.last_name: you cannot filter on this field')
    expect(messageOf({ $and: [{ $or: [{ last_name: null }] }] })).toBe('filter.$and.0.$or.0.last_name: you cannot filter on this field')
    expect(sortMessageOf([{ first_name: 'asc' }, { last_name: 'desc' }])).toBe('options.sort.1.last_name: you cannot sort on this field')
    // Unknown and unreadable are told apart only for fields of the model, never by a value.
    expect(compile({ first_name: 'x' }, { readable: () => true }).sql).toBe('"first_name" = $1::text')
  })
})

describe('on the store', () => {
  let testDb: TestDb
  beforeAll(async () => {
    testDb = await openTestDb()
    await createTable(testDb.db)
  })
  afterAll(() => testDb.drop())
  const all = () => true
  const select = async (filter: unknown) => {
    const { sql, params } = compileFilter(filter, { fields: FIELDS, readable: all, firstParam: 1 })
    const result = await testDb.db.query<{ id: number }>(`SELECT id FROM t WHERE ${sql} ORDER BY id`, params)
    return result.rows.map((row) => row.id)
  }

  const EVIL = [
    "'; DROP TABLE t; --",
    "' OR '1'='1",
    '" OR 1=1 --',
    "x'); DELETE FROM t; --",
    '$1',
    '$$; DROP TABLE t; $$',
    "E'\\x27'",
    '\\',
    "\\'",
    '/* comment */',
    'naïve 😀 日本語 \u2028 \u200b',
    "Robert'); DROP TABLE t;--",
    'COLLATE "C"',
  ]

  it('binds hostile values as parameters: they round-trip exactly and never reach the SQL text', async () => {
    await testDb.db.query('DELETE FROM t')
    await insertRows(
      testDb.db,
      EVIL.map((name, index) => ({ id: index + 1, age: null, ratio: null, name, active: null, born: null, seen: null, doc: undefined })),
    )
    for (const [index, value] of EVIL.entries()) {
      for (const filter of [{ name: value }, { name: { $in: ['other', value] } }, { name: { $gte: value, $lte: value } }, { name: { $not: { $ne: value } } }]) {
        const { sql, params } = compileFilter(filter, { fields: FIELDS, readable: all, firstParam: 1 })
        expect(params).toContain(value)
        // The text is placeholders, the quoted column, and this compiler's own words: nothing else.
        const residue = sql
          .replace(/\$\d+::(text|bigint)/g, '')
          .replace(/"user" COLLATE "C"|"user"/g, '')
          .replace(/\b(IN|AND|OR|NOT|IS|DISTINCT|FROM|coalesce|false)\b/g, '')
        expect(residue).toMatch(/^[\s(),<>=]*$/)
        expect(await select(filter)).toEqual([index + 1])
      }
    }
  })

  it('a DROP TABLE value simply matches nothing, and the table survives', async () => {
    for (const filter of [{ name: "x'; DROP TABLE t; --" }, { name: { $like: "%'; DROP TABLE t; --x%" } }, { name: { $in: ["'); DROP TABLE t; --"] } }]) expect(await select(filter)).toEqual([])
    const exists = await testDb.db.query<{ present: boolean }>(`SELECT to_regclass('t') IS NOT NULL AS present`)
    expect(exists.rows[0]?.present).toBe(true)
    expect((await testDb.db.query('SELECT count(*)::int AS n FROM t')).rows[0]).toEqual({ n: EVIL.length })
  })

  it('refuses hostile field names and values that are not values, before any SQL exists', () => {
    const names = ['name"; DROP TABLE t; --', 'user', '"user"', 'NAME', 'na me', 'name\u0000', '$name', '__proto__', 'constructor', 'toString', 'hasOwnProperty']
    for (const key of names) {
      const error = refusal(() => compileFilter(JSON.parse(JSON.stringify({ [key]: 1 })), { fields: FIELDS, readable: all, firstParam: 1 }))
      expect(error.message).toMatch(/unknown (field|operator)/)
    }
    const notValues: unknown[] = [{ name: { $eq: { $ne: 'x' } } }, { name: { $like: ['%'] } }, { age: { $gt: { toString: () => '1; DROP TABLE t' } } }, { age: { valueOf: () => 1 } }, { name: new String('x') }, { seen: new Date() }]
    for (const filter of notValues) expect(refusal(() => compileFilter(filter, { fields: FIELDS, readable: all, firstParam: 1 })).code).toBe('validation_failed')
  })

  it('runs the reference example, a thousand-value $in, and exact decimals', async () => {
    await testDb.db.query('DELETE FROM t')
    const rows = [
      [1, 0.30000000000000004, 100000],
      [2, 0.3, 99999],
      [3, 4.000000000000001, 100000],
      [4, 4, 5],
      [5, 5.5, 100001],
    ].map(([id, ratio, age]) => ({ id, ratio, age, name: null, active: null, born: null, seen: null, doc: undefined }))
    await insertRows(testDb.db, rows)
    // The reference's example, on this table's field names: ratio > 4.0 and age <= 100000.
    expect(await select({ ratio: { $gt: 4.0 }, age: { $lte: 100000 } })).toEqual([3])
    expect(await select({ ratio: 0.3 })).toEqual([2])
    expect(await select({ ratio: { $gt: 0.3 } })).toEqual([1, 3, 4, 5])
    expect(await select({ id: { $in: Array.from({ length: 1000 }, (_, i) => i + 3) } })).toEqual([3, 4, 5])
    expect(await select({ id: { $nin: Array.from({ length: 1000 }, (_, i) => i + 3) } })).toEqual([1, 2])
  })
})
