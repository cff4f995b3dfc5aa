import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileFilter, compileSort } from '../src/modules/vault/find/filter-compiler.js'
import type { FieldSpec } from '../src/modules/vault/find/filter-types.js'
import { openTestDb, type TestDb } from './harness.js'
import { matches, sortIds } from './vault-filter-evaluator.js'
import { createTable, FIELDS, insertRows, likePattern, rowsArb, VALUE_OF } from './vault-filter-fixture.js'

let testDb: TestDb
beforeAll(async () => {
  testDb = await openTestDb()
  await createTable(testDb.db)
})
afterAll(() => testDb.drop())

type Obj = Record<string, unknown>
const merge = (parts: Obj[]): Obj => Object.assign({}, ...parts) as Obj
const ORDERED = new Set(['integer', 'decimal', 'string', 'date', 'datetime'])

/** One operator with a valid argument for the field's type. */
function singleOperator(spec: FieldSpec, notBudget: number): fc.Arbitrary<Obj> {
  const choices: Array<fc.Arbitrary<Obj>> = [fc.boolean().map(($exists) => ({ $exists }))]
  if (spec.type === 'json') {
    choices.push(fc.constant({ $eq: null }), fc.constant({ $ne: null }))
  } else {
    const value = VALUE_OF[spec.type]
    const orNull = fc.option(value, { nil: null, freq: 5 })
    const list = fc.array(orNull, { maxLength: 4 })
    choices.push(orNull.map(($eq) => ({ $eq })), orNull.map(($ne) => ({ $ne })), list.map(($in) => ({ $in })), list.map(($nin) => ({ $nin })))
    if (ORDERED.has(spec.type)) for (const op of ['$gt', '$gte', '$lt', '$lte']) choices.push(value.map((v) => ({ [op]: v })))
    if (spec.type === 'string') choices.push(likePattern.map(($like) => ({ $like })))
  }
  if (notBudget > 0) choices.push(operatorObject(spec, notBudget - 1).map(($not) => ({ $not })))
  return fc.oneof(...choices)
}

const operatorObject = (spec: FieldSpec, notBudget: number): fc.Arbitrary<Obj> =>
  fc.array(singleOperator(spec, notBudget), { minLength: 1, maxLength: 2 }).map(merge)

const specs = [...FIELDS.values()]
const conditionFor = new Map(
  specs.map((spec) => {
    const shorthand = spec.type === 'json' ? fc.constant(null) : fc.option(VALUE_OF[spec.type], { nil: null, freq: 5 })
    return [spec.name, fc.oneof(shorthand, operatorObject(spec, 2))] as const
  }),
)
const fieldConditions: fc.Arbitrary<Obj> = fc
  .array(
    fc.constantFrom(...specs).chain((spec) => (conditionFor.get(spec.name) as fc.Arbitrary<unknown>).map((condition) => ({ [spec.name]: condition }))),
    { maxLength: 2 },
  )
  .map(merge)

/** Up to 3 levels of $and/$or, and up to 2 of $not inside them: within the default depth of 6. */
function filterAt(level: number): fc.Arbitrary<Obj> {
  if (level >= 3) return fieldConditions
  const below = filterAt(level + 1)
  const items = fc.array(below, { minLength: 1, maxLength: 3 })
  return fc.oneof(
    { arbitrary: fieldConditions, weight: 3 },
    { arbitrary: items.map(($and) => ({ $and })), weight: 1 },
    { arbitrary: items.map(($or) => ({ $or })), weight: 2 },
    { arbitrary: fc.tuple(fieldConditions, items).map(([conditions, $or]) => ({ ...conditions, $or })), weight: 1 },
  )
}

const sortable = specs.filter((spec) => spec.type !== 'json').map((spec) => spec.name)
const sortArb = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...sortable), fc.constantFrom('asc' as const, 'desc' as const)), { selector: ([name]) => name, maxLength: 3 })
  .map((entries) => entries.map(([name, direction]) => ({ [name]: direction })))

const readable = () => true

describe('the filter compiler agrees with the reference evaluator', () => {
  it('on random rows (with NULLs), random valid filters and random sorts, on this store', async () => {
    const db = testDb.db
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.array(fc.tuple(filterAt(0), sortArb), { minLength: 1, maxLength: 6 }), async (rows, queries) => {
        await db.query('DELETE FROM t')
        await insertRows(db, rows)
        for (const [filter, sort] of queries) {
          // $1 is the caller's own parameter: the filter's placeholders must start after it.
          const { sql, params } = compileFilter(filter, { fields: FIELDS, readable, firstParam: 2 })
          const orderBy = compileSort(sort, { fields: FIELDS, readable })
          const query = `SELECT id FROM t WHERE id > $1::integer AND ${sql}${orderBy ? `${orderBy}, id` : ' ORDER BY id'}`
          const result = await db.query<{ id: number }>(query, [0, ...params])
          const expected = sortIds(
            rows.filter((row) => matches(filter, row, FIELDS)),
            sort,
            FIELDS,
          )
          expect(result.rows.map((row) => row.id), `${JSON.stringify(filter)} ${JSON.stringify(sort)}\n${query}\n${JSON.stringify(params)}`).toEqual(expected)
        }
      }),
      { numRuns: 1000 },
    )
  })
})
