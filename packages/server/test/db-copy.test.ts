import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyTextChunks, copyTextRow, copyTextValue, type CopyValue } from '../src/db/copy-text.js'
import type { Db } from '../src/db/db.js'
import { openTestDb, STORE, type TestDb } from './harness.js'

let testDb: TestDb
let db: Db
beforeAll(async () => {
  testDb = await openTestDb()
  db = testDb.db
  await db.query('CREATE TABLE copied (n int PRIMARY KEY, a text, b text, doc jsonb)')
})
afterAll(() => testDb.drop())

const TARGET = { table: 'copied', columns: ['n', 'a', 'b', 'doc'] }

/** Any string PostgreSQL's text can hold: every code point but NUL, lone surrogates excluded by construction. */
const storable = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((text) => !text.includes('\u0000'))
/** Strings made mostly of what COPY escapes or could mistake for syntax. */
const tricky = fc
  .array(fc.constantFrom('\\', '\t', '\n', '\r', 'N', '\\N', '.', '\\.', ' ', '"', "'", ',', 'é', '😀', '\u2028', '\u007f', '\u0001'), { maxLength: 20 })
  .map((parts) => parts.join(''))
const value: fc.Arbitrary<CopyValue> = fc.oneof(storable, tricky, fc.constant(null), fc.constant(''))

describe(`COPY text on ${STORE}`, () => {
  it('the encoder escapes exactly what COPY text needs', () => {
    expect(copyTextValue('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re')
    expect(copyTextValue(null)).toBe('\\N')
    expect(copyTextValue('\\N')).toBe('\\\\N')
    expect(copyTextRow(['x', null, ''])).toBe('x\t\\N\t\n')
    expect(() => copyTextValue('a\u0000b')).toThrow(/NUL/)
    expect([...copyTextChunks([['1'], ['2'], ['3']], 2)]).toEqual(['1\n2\n', '3\n'])
  })

  it('round-trips any storable text and NULL through the real store, in one transaction', async () => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(value, value, fc.option(storable, { nil: null })), { minLength: 1, maxLength: 30 }), async (rows) => {
        run += 1
        const docs = rows.map(([, , doc]) => (doc === null ? null : JSON.stringify({ doc, list: [doc] })))
        const copied = await db.transaction(async (tx) => {
          await tx.query('DELETE FROM copied')
          const count = await tx.copyFrom(TARGET, copyTextChunks(rows.map(([a, b], index) => [String(index), a, b, docs[index]!]), 7))
          const { rows: back } = await tx.query<{ n: number; a: string | null; b: string | null; doc: unknown }>('SELECT n, a, b, doc FROM copied ORDER BY n')
          return { count, back }
        })
        expect(copied.count).toBe(rows.length)
        expect(copied.back).toEqual(rows.map(([a, b], index) => ({ n: index, a, b, doc: docs[index] === null ? null : JSON.parse(docs[index]!) })))
      }),
      { numRuns: 60 },
    )
    expect(run).toBe(60)
  })

  it('a rollback takes the copied rows back, and the connection stays usable after COPY fails', async () => {
    await db.query('DELETE FROM copied')
    await expect(
      db.transaction(async (tx) => {
        await tx.copyFrom(TARGET, ['1\tx\ty\t{}\n'])
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    // A row the database refuses (not a number), and input that fails while it streams.
    await expect(db.transaction((tx) => tx.copyFrom(TARGET, ['nope\tx\ty\t{}\n']))).rejects.toMatchObject({ code: '22P02' })
    async function* failing() {
      yield '2\tx\ty\t{}\n'
      throw new Error('the input failed')
    }
    await expect(db.transaction((tx) => tx.copyFrom(TARGET, failing()))).rejects.toThrow('the input failed')
    expect(await db.transaction((tx) => tx.copyFrom(TARGET, ['3\tx\ty\t{}\n']))).toBe(1)
    const { rows } = await db.query<{ n: number }>('SELECT n FROM copied ORDER BY n')
    expect(rows.map((row) => row.n)).toEqual([3])
  })

  it('refuses a table or column name that is not a plain identifier', async () => {
    await expect(db.transaction((tx) => tx.copyFrom({ table: 'copied"; DROP TABLE copied; --', columns: ['n'] }, ['1\n']))).rejects.toThrow(/plain lower-case identifier/)
    await expect(db.transaction((tx) => tx.copyFrom({ table: 'copied', columns: [] }, ['1\n']))).rejects.toThrow(/no columns/)
  })
})
