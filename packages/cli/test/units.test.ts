/** The CLI's pure parts: file readers, the column mapping, profile resolution, plan comparison. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { canonical, differences, renderPlan } from '../src/declarative.js'
import { CliError } from '../src/errors.js'
import { resolveSettings } from '../src/profiles.js'
import { parseMapping, toResource } from '../src/upload/mapping.js'
import { readRows, type Format, type Row } from '../src/upload/rows.js'
import { tempDir } from './helpers.js'

const dir = tempDir()
afterAll(() => dir.remove())
let n = 0
async function rowsOf(text: string, format: Format, chunkBytes?: number): Promise<Row[]> {
  const file = join(dir.dir, `f${(n += 1)}.${format}`)
  writeFileSync(file, text)
  const rows: Row[] = []
  for await (const row of readRows(file, format, chunkBytes ? { chunkBytes } : {})) rows.push(row)
  return rows
}

describe('readRows', () => {
  it('splits a JSON array into its objects at any chunk size, with the line each starts on', async () => {
    const objects = [{ kind: 'c', id: '1', displayName: 'braces } ] { [ and "quotes" \\ in a string' }, { kind: 'c', id: '2', labels: { a: 'x', nested: '{}' } }, { kind: 'c', id: '3' }]
    const text = `\ufeff[\n${objects.map((o) => `  ${JSON.stringify(o)}`).join(',\n')}\n]\n`
    for (const chunkBytes of [1, 2, 7, 64]) {
      const rows = await rowsOf(text, 'json', chunkBytes)
      expect(rows.map((row) => row.record)).toEqual(objects)
      expect(rows.map((row) => row.line)).toEqual([2, 3, 4])
    }
  })

  it('reads any array of objects the same as JSON.parse does (property)', async () => {
    const object = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 })), { maxKeys: 4 })
    await fc.assert(
      fc.asyncProperty(fc.array(object, { maxLength: 6 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), async (objects, chunkBytes, pretty) => {
        const rows = await rowsOf(JSON.stringify(objects, null, pretty ? 2 : undefined), 'json', chunkBytes)
        expect(rows.map((row) => row.record)).toEqual(objects)
      }),
      { numRuns: 60 },
    )
  })

  it('names the line of what is not an object, and a file cut short', async () => {
    await expect(rowsOf('[{"id":"1"},\n"x"]', 'json')).rejects.toThrow(/:2: expected an object in the array, found a string/)
    await expect(rowsOf('[{"id":"1"},\n{"id":', 'json')).rejects.toThrow(/:2: the file ends inside a value/)
    await expect(rowsOf('{"id":"1"}', 'json')).rejects.toThrow(/:1: a \.json file must be an array of objects/)
    await expect(rowsOf('{"id":"1"}\n{oops}\n', 'ndjson')).rejects.toThrow(/:2: not valid JSON/)
    await expect(rowsOf('{"id":"1"}\n[1]\n', 'ndjson')).rejects.toThrow(/:2: expected a JSON object/)
  })

  it('CSV: quoted fields across lines keep the line a record ends on; blank lines are skipped', async () => {
    const rows = await rowsOf('kind,id,displayName\ncustomer,1,"a\nb"\n\ncustomer,2,c\n', 'csv', 3)
    expect(rows.map((row) => [row.line, row.record.displayName])).toEqual([
      [3, 'a\nb'],
      [5, 'c'],
    ])
  })
})

describe('the column mapping', () => {
  const row = (record: Record<string, unknown>): Row => ({ line: 9, bytes: 0, record })
  it('takes kind, id, displayName and label.* columns, or a labels object, by default', () => {
    expect(toResource('f', row({ kind: 'customer', id: 'c_1', displayName: 'Acme', 'label.plan': 'pro', 'label.empty': '' }), null)).toEqual({ kind: 'customer', id: 'c_1', displayName: 'Acme', labels: { plan: 'pro' } })
    expect(toResource('f', row({ kind: 'customer', id: 7, labels: { tier: 2, vip: true } }), null)).toEqual({ kind: 'customer', id: '7', labels: { tier: '2', vip: 'true' } })
  })
  it('follows --map and --kind, and names the line of a row without an id', () => {
    const mapping = parseMapping(['id=customer_id', 'displayName=name', 'label.plan=tier'], 'customer')
    expect(toResource('f', row({ customer_id: 'c_9', name: 'Initech', tier: 'pro', other: 'x' }), mapping)).toEqual({ kind: 'customer', id: 'c_9', displayName: 'Initech', labels: { plan: 'pro' } })
    expect(() => toResource('in.csv', row({ name: 'x' }), mapping)).toThrow("in.csv:9: no id (column 'customer_id')")
    expect(() => toResource('in.csv', row({ id: 'x' }), null)).toThrow("in.csv:9: no kind (column 'kind'; or pass --kind)")
    expect(() => toResource('in.csv', row({ kind: 'c', id: 'x', labels: { deep: { a: 1 } } }), null)).toThrow("in.csv:9: label 'deep' must be a string")
    expect(() => parseMapping(['colour=c'])).toThrow(CliError)
    expect(() => parseMapping(['id'])).toThrow(/is not FIELD=COLUMN/)
  })
})

describe('profile resolution', () => {
  const file = { current: 'work', profiles: { work: { url: 'http://work:1', space: 'acme', token: 'ghs_work' }, home: { url: 'http://home:2', space: 'default', token: 'ghs_home' } } }
  it('flags beat GATEHOUSE_* variables, which beat the profile, which beats the defaults', () => {
    expect(resolveSettings({}, {}, file)).toMatchObject({ profileName: 'work', url: 'http://work:1', space: 'acme', token: 'ghs_work' })
    expect(resolveSettings({}, { GATEHOUSE_URL: 'http://env:3', GATEHOUSE_API_TOKEN: 'ghs_env' }, file)).toMatchObject({ url: 'http://env:3', space: 'acme', token: 'ghs_env' })
    expect(resolveSettings({ url: 'http://flag:4', token: 'ghs_flag' }, { GATEHOUSE_URL: 'http://env:3', GATEHOUSE_API_TOKEN: 'ghs_env' }, file)).toMatchObject({ url: 'http://flag:4', token: 'ghs_flag' })
    expect(resolveSettings({ profile: 'home' }, {}, file)).toMatchObject({ url: 'http://home:2', space: 'default', token: 'ghs_home' })
    expect(resolveSettings({}, { GATEHOUSE_PROFILE: 'home' }, file)).toMatchObject({ profileName: 'home' })
    expect(resolveSettings({}, {}, { profiles: {} })).toMatchObject({ profileName: 'default', url: 'http://127.0.0.1:8080', space: 'default', token: undefined })
  })
  it('a named profile that does not exist is an error, except for login, which starts it from the current server', () => {
    expect(() => resolveSettings({ profile: 'prod' }, {}, file)).toThrow(/no profile 'prod'.*known: work, home/)
    expect(resolveSettings({ profile: 'prod' }, {}, file, { allowNew: true })).toMatchObject({ profileExists: false, url: 'http://work:1', space: 'acme', token: undefined })
  })
})

describe('plans', () => {
  it('ignore key order and absent-or-null, and say which keys changed', () => {
    expect(canonical({ b: 1, a: { d: [1, 2], c: null } })).toBe(canonical({ a: { d: [1, 2] }, b: 1 }))
    expect(canonical({ a: [1, 2] })).not.toBe(canonical({ a: [2, 1] }))
    expect(differences({ priority: 5, name: 'x' }, { priority: 7, name: 'x' })).toEqual(['priority: 5 → 7'])
    expect(renderPlan([{ action: 'keep', type: 'policy', name: 'p', details: [] }])).toContain('Nothing to do')
    expect(renderPlan([{ action: 'update', type: 'model', name: 'm', details: ['DROP field f'] }, { action: 'update', type: 'model', name: 'm', details: [], hidden: true }])).toBe(
      '~ update model m\n    DROP field f\n\nPlan: 0 to create, 1 to update, 0 to delete.\n',
    )
  })
})
