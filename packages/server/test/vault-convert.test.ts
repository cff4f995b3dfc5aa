import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FieldSpec } from '../src/modules/vault/find/filter-types.js'
import { createJobRunner, createJobsStore } from '../src/modules/jobs/index.js'
import { CONVERT_FIELD_JOB, createConvertFieldJob } from '../src/modules/vault/crypto/convert-field-job.js'
import { createModelsStore } from '../src/modules/vault/models/models-store.js'
import { createRecordsStore } from '../src/modules/vault/records/records-store.js'
import { createHarness, STORE, type Harness } from './harness.js'
import { matches } from './vault-filter-evaluator.js'
import { setUpVault } from './vault-harness.js'

/*
 * Issue 17: making a plain field encrypted (or the reverse) is a model change that runs a
 * background job. These tests drive the job batch by batch and check, mid-way, that every record
 * reads the same, writes land, and filters answer the same rows; then what the table holds.
 */

const RECORDS = 300
const BATCH = 50
const CITIES = ['Lisbon', 'Porto', 'Faro', 'Braga', 'Évora']

let h: Harness
let token: string
beforeAll(async () => {
  h = await createHarness()
  const created = await h.request('POST', '/v1/spaces/default/vault/models', {
    token: h.adminToken,
    body: {
      name: 'people',
      primaryKey: 'id',
      fields: { id: { type: 'integer' }, city: { type: 'string', searchable: true }, born: { type: 'date' }, secret: { type: 'string', encrypted: true, searchable: 'equality' }, note: { type: 'string' } },
    },
  })
  expect(created.status, created.text).toBe(201)
  ;({ token } = await setUpVault(h, { people: { actions: ['read', 'write'], acl: { source: 'none' } } }, null))
  for (let start = 0; start < RECORDS; start += 100) {
    const records = Array.from({ length: 100 }, (_, i) => {
      const id = start + i
      // Every 7th record has no city: missing values must convert (and filter) too.
      return { id, ...(id % 7 === 3 ? {} : { city: CITIES[id % CITIES.length] }), born: `19${50 + (id % 40)}-0${1 + (id % 9)}-1${id % 10}`, secret: `s-${id % 11}`, note: `n${id}` }
    })
    const batch = await h.request('POST', '/api/models/people/batch', { token, body: { records } })
    expect(batch.status, batch.text).toBe(201)
  }
})
afterAll(() => h.close())

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined }
const admin = () => ({ token: h.adminToken })
let offsetMs = 0
const runner = (owner: string, batch = BATCH) =>
  createJobRunner({
    db: h.db,
    store: createJobsStore(),
    clock: () => new Date(Date.now() + offsetMs),
    handlers: {
      [CONVERT_FIELD_JOB]: createConvertFieldJob({ db: h.db, keys: h.built.services.keys, models: createModelsStore(), records: createRecordsStore(), audit: h.built.services.audit, changes: h.built.changes, batch }),
    },
    owner,
    logger: quiet,
    leaseMs: 60_000,
  })

const fields = (overrides: Record<string, unknown>) => ({
  primaryKey: 'id',
  fields: { id: { type: 'integer' }, city: { type: 'string', searchable: true }, born: { type: 'date' }, secret: { type: 'string', encrypted: true, searchable: 'equality' }, note: { type: 'string' }, ...overrides },
})
const tableName = async () => (await h.db.query<{ t: string }>("SELECT table_name AS t FROM vault_models WHERE name = 'people'")).rows[0]!.t
const columns = async () => (await h.db.query<{ c: string; t: string }>('SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY column_name', ['vault', await tableName()])).rows
const everything = async () => {
  const found = []
  for (let offset = 0; ; offset += 100) {
    const page = await h.request('POST', '/api/models/people/find', { token, body: { options: { limit: 100, offset } } })
    expect(page.status, page.text).toBe(200)
    found.push(...(page.body.data as Array<Record<string, unknown>>).map(({ updated_at: _u, ...record }) => record))
    if (page.body.data.length < 100) return found
  }
}
const ids = async (filter: Record<string, unknown>) => {
  const found = await h.request('POST', '/api/models/people/find', { token, body: { filter, options: { limit: 100, sort: [{ id: 'asc' }] } } })
  expect(found.status, found.text).toBe(200)
  return { total: found.body.meta.total as number, ids: (found.body.data as Array<{ id: number }>).map((record) => record.id) }
}
const FILTERS: Array<Record<string, unknown>> = [
  { city: 'Porto' },
  { city: { $in: ['Faro', 'Évora'] } },
  { city: { $ne: 'Lisbon' }, id: { $lt: 40 } },
  { city: { $nin: ['Lisbon', null] }, id: { $lt: 60 } },
  { city: null },
  { city: { $exists: true }, id: { $gte: 250 } },
  { $and: [{ city: { $in: ['Braga', null] } }, { id: { $lt: 100 } }] },
]

describe(`converting a field between plain and encrypted on ${STORE}`, () => {
  it('plain → encrypted with an equality index: 202 and a job; mid-way reads, writes and filters answer as before; a dead runner is taken over; after it no plaintext is left', async () => {
    const before = await everything()
    const filtered = await Promise.all(FILTERS.map(ids))

    const plan = await h.request('PUT', '/v1/spaces/default/vault/models/people?dryRun=true', { ...admin(), body: fields({ city: { type: 'string', encrypted: true, searchable: 'equality' } }) })
    expect(plan.status, plan.text).toBe(200)
    expect(plan.body.changes).toEqual([{ op: 'encrypt', field: 'city', type: 'string', required: false, records: RECORDS, lossy: false }])

    const changed = await h.request('PUT', '/v1/spaces/default/vault/models/people', { ...admin(), body: fields({ city: { type: 'string', encrypted: true, searchable: 'equality' } }) })
    expect(changed.status, changed.text).toBe(202)
    const job = changed.body.jobs[0]
    expect(job).toMatchObject({ kind: CONVERT_FIELD_JOB, state: 'queued', total: RECORDS, params: { model: 'people', field: 'city' } })
    expect(changed.body.model.fields.city).toEqual({ type: 'string', searchable: true, converting: { job: job.id, to: { encrypted: true, searchable: 'equality', indexBits: expect.any(Number) } } })

    // While it runs: a second conversion, a type change, a drop, a range filter and a sort are refused.
    const again = await h.request('PUT', '/v1/spaces/default/vault/models/people', { ...admin(), body: fields({ city: { type: 'string' } }) })
    expect(again.status).toBe(409)
    expect(again.body.error.message).toContain(job.id)
    expect((await h.request('POST', '/api/models/people/find', { token, body: { filter: { city: { $gt: 'M' } } } })).status).toBe(400)
    expect((await h.request('POST', '/api/models/people/find', { token, body: { options: { sort: [{ city: 'asc' }] } } })).status).toBe(400)
    expect((await h.request('POST', '/v1/spaces/default/vault/keys/data/rotate', admin())).status).toBe(409)

    // The job waits until every node has seen the change (app.ts conversionDelayMs).
    const a = runner('node-a')
    expect(await a.claim()).toBeNull()
    offsetMs = 5_000
    const claimed = await a.claim()
    expect(claimed?.id).toBe(job.id)
    for (let i = 0; i < 2; i++) expect(await a.runBatch(claimed!)).toBe('continue')

    // Mid-way: 100 records converted, 200 not; every read and filter answers as before.
    const table = await tableName()
    const forms = (await h.db.query<{ plain: number; cipher: number }>(`SELECT count(city)::int AS plain, count(_cv_city)::int AS cipher FROM vault."${table}"`)).rows[0]!
    expect(forms.plain + forms.cipher).toBe(before.filter((record) => record.city !== null).length)
    expect(forms.cipher).toBeGreaterThan(80)
    expect(await everything()).toEqual(before)
    expect(await Promise.all(FILTERS.map(ids))).toEqual(filtered)
    for (const id of [10, 12, 290, 291]) {
      const { updated_at: _u, ...record } = (await h.request('GET', `/api/models/people/${id}`, { token })).body as Record<string, unknown>
      expect(record).toEqual(before.find((one) => one.id === id))
    }

    // Writes land in the new form, on converted and unconverted rows alike, and clear the old one.
    expect((await h.request('PATCH', '/api/models/people/10', { token, body: { city: 'Porto' } })).status).toBe(200)
    expect((await h.request('PATCH', '/api/models/people/280', { token, body: { city: 'Porto' } })).status).toBe(200)
    expect((await h.request('PATCH', '/api/models/people/285', { token, body: { city: null } })).status).toBe(200)
    expect((await h.request('POST', '/api/models/people', { token, body: { id: 1000, city: 'Porto', born: '2000-01-01' } })).status).toBe(201)
    const written = (await h.db.query<{ id: string; city: string | null; cv: Uint8Array | null }>(`SELECT id::text AS id, city, _cv_city AS cv FROM vault."${table}" WHERE id IN (10, 280, 285, 1000) ORDER BY "${table}".id`)).rows
    expect(written.map((row) => [row.id, row.city, row.cv === null])).toEqual([['10', null, false], ['280', null, false], ['285', null, true], ['1000', null, false]])
    const porto = await ids({ city: 'Porto' })
    expect(porto.total).toBe(filtered[0]!.total + 3 - (before[280]!.city === 'Porto' ? 1 : 0))
    expect(porto.ids).toEqual(expect.arrayContaining([10, 280]))

    // A node whose cached model predates the conversion writes the old column: the guard refuses it.
    await expect(h.db.query(`UPDATE vault."${table}" SET city = 'Faro' WHERE id = 11`)).rejects.toMatchObject({ code: '40001' })
    await expect(h.db.query(`INSERT INTO vault."${table}" (id, city) VALUES (2000, 'Faro')`)).rejects.toMatchObject({ code: '40001' })

    // Node A dies holding the lease; node B takes the job over from the committed cursor.
    offsetMs = 66_000
    const b = runner('node-b')
    const taken = await b.claim()
    expect(taken?.id).toBe(job.id)
    expect(taken?.cursor).toBe('99')
    let outcome = 'continue'
    for (let i = 0; i < 20 && outcome === 'continue'; i++) outcome = await b.runBatch(taken!)
    expect(outcome).toBe('done')
    offsetMs = 0

    const finished = await h.request('GET', `/v1/spaces/default/vault/jobs/${job.id}`, admin())
    expect(finished.body).toMatchObject({ state: 'succeeded', done: RECORDS + 1 })
    const model = await h.request('GET', '/v1/spaces/default/vault/models/people', admin())
    expect(model.body.fields.city).toEqual({ type: 'string', encrypted: true, searchable: 'equality', indexBits: expect.any(Number) })
    // The table: no plain column for the field, and no row holds its plaintext.
    const cols = await columns()
    expect(cols.find((column) => column.c === 'city')?.t).toBe('bytea')
    expect(cols.map((column) => column.c)).not.toContain('_cv_city')
    const dump = (await h.db.query<{ row: string }>(`SELECT t::text AS row FROM vault."${table}" AS t`)).rows.map((row) => row.row).join('\n')
    for (const city of CITIES) expect(dump).not.toContain(city)

    const after = await everything()
    expect(after.find((record) => record.id === 10)?.city).toBe('Porto')
    expect(after.filter((record) => ![10, 280, 285, 1000].includes(record.id as number))).toEqual(before.filter((record) => ![10, 280, 285].includes(record.id as number)))
    expect(await ids({ city: 'Porto' })).toEqual(porto)
    expect((await h.request('POST', '/api/models/people/find', { token, body: { filter: { city: { $gt: 'M' } } } })).status).toBe(400)
    const audit = await h.request('GET', '/v1/spaces/default/audit?event=vault/model_update', admin())
    expect(audit.body.events[0]).toMatchObject({ actor: { kind: 'system', id: `job:${job.id}` }, meta: { jobId: job.id, changes: [{ op: 'encrypt', field: 'city', finished: true }] } })
  })

  it('encrypted → plain: the reverse, values identical afterwards', async () => {
    const before = await everything()
    const secret = await ids({ secret: 's-3' })
    const changed = await h.request('PUT', '/v1/spaces/default/vault/models/people', {
      ...admin(),
      body: fields({ city: { type: 'string', encrypted: true, searchable: 'equality' }, secret: { type: 'string', searchable: true } }),
    })
    expect(changed.status, changed.text).toBe(202)
    const job = changed.body.jobs[0]
    offsetMs = 5_000
    const a = runner('node-c')
    const claimed = await a.claim()
    expect(claimed?.id).toBe(job.id)
    expect(await a.runBatch(claimed!)).toBe('continue')
    expect(await everything()).toEqual(before)
    expect(await ids({ secret: 's-3' })).toEqual(secret)
    expect(await ids({ secret: { $nin: ['s-3', 's-4'] }, id: { $lt: 30 } })).toEqual({ total: 30 - 6, ids: expect.any(Array) })
    expect((await h.request('PATCH', '/api/models/people/200', { token, body: { secret: 's-3' } })).status).toBe(200)
    let outcome = 'continue'
    for (let i = 0; i < 20 && outcome === 'continue'; i++) outcome = await a.runBatch(claimed!)
    expect(outcome).toBe('done')
    offsetMs = 0
    const after = await everything()
    expect(after.filter((record) => record.id !== 200)).toEqual(before.filter((record) => record.id !== 200))
    expect(after.find((record) => record.id === 200)?.secret).toBe('s-3')
    const cols = await columns()
    expect(cols.find((column) => column.c === 'secret')?.t).toBe('text')
    expect(cols.map((column) => column.c)).not.toContain('_bi_secret')
    // Plain again: ranges and sorts work on it.
    expect((await ids({ secret: { $gte: 's-3', $lt: 's-4' } })).total).toBe(secret.total + (secret.ids.includes(200) ? 0 : 1))
    expect((await h.request('POST', '/api/models/people/find', { token, body: { filter: { secret: { $exists: true } }, options: { sort: [{ secret: 'desc' }], limit: 1 } } })).body.data[0].secret).toBe('s-9')
  })

  it('every encryptable type converts both ways with its values and equality finds unchanged; a required field stays required', async () => {
    const typed = { id: { type: 'string' }, n: { type: 'integer', required: true }, d: { type: 'decimal' }, day: { type: 'date' }, at: { type: 'datetime' }, doc: { type: 'json' } }
    const made = await h.request('POST', '/v1/spaces/default/vault/models', { ...admin(), body: { name: 'typed', primaryKey: 'id', fields: typed } })
    expect(made.status, made.text).toBe(201)
    const { token: typedToken } = await setUpVault(h, { typed: { actions: ['read', 'write'], acl: { source: 'none' } } }, null)
    const records = Array.from({ length: 30 }, (_, i) => ({ id: `r${i}`, n: i % 4, d: i % 3 === 0 ? null : 1.5 + (i % 5), day: `2020-02-${10 + (i % 9)}`, at: `2024-05-01T12:00:0${i % 6}.250Z`, doc: i % 2 ? { k: [i, 'x'] } : null }))
    expect((await h.request('POST', '/api/models/typed/batch', { token: typedToken, body: { records } })).status).toBe(201)
    const read = async () => (await h.request('POST', '/api/models/typed/find', { token: typedToken, body: { options: { limit: 100, sort: [{ id: 'asc' }] } } })).body.data.map(({ updated_at: _u, ...record }: Record<string, unknown>) => record)
    const count = async (filter: Record<string, unknown>) => (await h.request('POST', '/api/models/typed/find', { token: typedToken, body: { filter } })).body.meta.total as number
    const before = await read()
    const probes = [{ n: 2 }, { d: 2.5 }, { day: '2020-02-12' }, { at: '2024-05-01T12:00:03.250Z' }, { d: null }, { doc: { $exists: true } }]
    const counts = await Promise.all(probes.map(count))

    const convert = async (definition: Record<string, unknown>) => {
      const changed = await h.request('PUT', '/v1/spaces/default/vault/models/typed', { ...admin(), body: { primaryKey: 'id', fields: definition } })
      expect(changed.status, changed.text).toBe(202)
      expect(changed.body.jobs).toHaveLength(5)
      offsetMs = 5_000
      const worker = runner('node-t')
      for (let claimed = await worker.claim(); claimed; claimed = await worker.claim()) {
        expect(await worker.runBatch(claimed)).toBe('done') // 30 records: one batch each
        expect(await read()).toEqual(before)
      }
      offsetMs = 0
    }
    await convert({ id: typed.id, n: { ...typed.n, encrypted: true, searchable: 'equality' }, d: { ...typed.d, encrypted: true, searchable: 'equality' }, day: { ...typed.day, encrypted: true, searchable: 'equality' }, at: { ...typed.at, encrypted: true, searchable: 'equality' }, doc: { ...typed.doc, encrypted: true } })
    expect(await read()).toEqual(before)
    expect(await Promise.all(probes.map(count))).toEqual(counts)
    expect((await h.request('POST', '/api/models/typed', { token: typedToken, body: { id: 'x' } })).status).toBe(400) // n is still required
    await convert(typed)
    expect(await read()).toEqual(before)
    expect(await Promise.all(probes.map(count))).toEqual(counts)
    const table = (await h.db.query<{ t: string }>("SELECT table_name AS t FROM vault_models WHERE name = 'typed'")).rows[0]!.t
    const notNull = (await h.db.query<{ n: string }>("SELECT is_nullable AS n FROM information_schema.columns WHERE table_schema = 'vault' AND table_name = $1 AND column_name = 'n'", [table])).rows[0]!.n
    expect(notNull).toBe('NO')
  })

  it('a conversion whose job failed stays readable half done, and sending the model again starts a new job that finishes it; deleting a converting model leaves no guard behind', async () => {
    const made = await h.request('POST', '/v1/spaces/default/vault/models', { ...admin(), body: { name: 'notes', primaryKey: 'id', fields: { id: { type: 'integer' }, body: { type: 'string' } } } })
    expect(made.status, made.text).toBe(201)
    const { token: notesToken } = await setUpVault(h, { notes: { actions: ['read', 'write'], acl: { source: 'none' } } }, null)
    const records = Array.from({ length: 120 }, (_, id) => ({ id, body: `note ${id}` }))
    expect((await h.request('POST', '/api/models/notes/batch', { token: notesToken, body: { records: records.slice(0, 100) } })).status).toBe(201)
    expect((await h.request('POST', '/api/models/notes/batch', { token: notesToken, body: { records: records.slice(100) } })).status).toBe(201)
    const target = { primaryKey: 'id', fields: { id: { type: 'integer' }, body: { type: 'string', encrypted: true } } }
    const first = await h.request('PUT', '/v1/spaces/default/vault/models/notes', { ...admin(), body: target })
    expect(first.status, first.text).toBe(202)
    offsetMs = 5_000
    const worker = runner('node-f')
    const claimed = await worker.claim()
    expect(await worker.runBatch(claimed!)).toBe('continue')
    await h.db.query(`UPDATE vault_jobs SET state = 'failed', lease_owner = NULL WHERE id = $1`, [first.body.jobs[0].id])
    const read = async () => (await h.request('POST', '/api/models/notes/find', { token: notesToken, body: { options: { limit: 100, offset: 50 } } })).body.data.map((record: { body: string }) => record.body)
    expect(await read()).toEqual(records.slice(50, 120).map((record) => record.body))

    const again = await h.request('PUT', '/v1/spaces/default/vault/models/notes', { ...admin(), body: target })
    expect(again.status, again.text).toBe(202)
    expect(again.body.jobs[0].id).not.toBe(first.body.jobs[0].id)
    expect(again.body.model.fields.body.converting.job).toBe(again.body.jobs[0].id)
    let outcome = 'continue'
    const resumed = await worker.claim()
    expect(resumed?.id).toBe(again.body.jobs[0].id)
    for (let i = 0; i < 10 && outcome === 'continue'; i++) outcome = await worker.runBatch(resumed!)
    expect(outcome).toBe('done')
    offsetMs = 0
    expect(await read()).toEqual(records.slice(50, 120).map((record) => record.body))
    expect((await h.request('GET', '/v1/spaces/default/vault/models/notes', admin())).body.fields.body).toEqual({ type: 'string', encrypted: true })

    // A model deleted mid-conversion takes its guard function with it.
    const plain = await h.request('PUT', '/v1/spaces/default/vault/models/notes', { ...admin(), body: { primaryKey: 'id', fields: { id: { type: 'integer' }, body: { type: 'string' } } } })
    expect(plain.status, plain.text).toBe(202)
    const guards = async () => (await h.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'vault' AND p.proname LIKE '\\_cv\\_%'")).rows[0]!.n
    expect(await guards()).toBe(1)
    expect((await h.request('DELETE', '/v1/spaces/default/vault/models/notes', admin())).status).toBe(204)
    expect(await guards()).toBe(0)
    offsetMs = 5_000
    const orphan = await worker.claim()
    expect(orphan?.id).toBe(plain.body.jobs[0].id)
    expect(await worker.runBatch(orphan!)).toBe('done') // no model left: the job ends at once
    offsetMs = 0
  })

  it('mid-way through conversions both ways, equality filters answer exactly what the filter means (property test against the in-memory evaluator)', async () => {
    const made = await h.request('POST', '/v1/spaces/default/vault/models', {
      ...admin(),
      body: { name: 'props', primaryKey: 'id', fields: { id: { type: 'integer' }, name: { type: 'string' }, n: { type: 'integer', encrypted: true, searchable: 'equality', indexBits: 2 }, tag: { type: 'string' } } },
    })
    expect(made.status, made.text).toBe(201)
    const { token: propsToken } = await setUpVault(h, { props: { actions: ['read', 'write'], acl: { source: 'none' } } }, null)
    const names = ['ann', 'bob', 'cy', 'dee', 'Ann', 'ann ']
    const value = { name: fc.constantFrom(...names), n: fc.integer({ min: -3, max: 3 }) }
    const rows = fc.sample(fc.record({ name: fc.option(value.name, { freq: 4 }), n: fc.option(value.n, { freq: 4 }), tag: fc.option(fc.constantFrom('x', 'y'), { freq: 4 }) }), { numRuns: 40, seed: 17 }).map((row, id) => ({ id, ...row }))
    expect((await h.request('POST', '/api/models/props/batch', { token: propsToken, body: { records: rows } })).status).toBeLessThan(300)
    // name: plain → encrypted with a 2-bit index (most values share one); n: encrypted → plain.
    const changed = await h.request('PUT', '/v1/spaces/default/vault/models/props', {
      ...admin(),
      body: { primaryKey: 'id', fields: { id: { type: 'integer' }, name: { type: 'string', encrypted: true, searchable: 'equality', indexBits: 2 }, n: { type: 'integer', searchable: true }, tag: { type: 'string' } } },
    })
    expect(changed.status, changed.text).toBe(202)
    offsetMs = 5_000
    const worker = runner('node-p', 15)
    const fieldsDone: unknown[] = []
    for (let i = 0; i < 2; i++) {
      const claimed = await worker.claim() // the first job stays leased: the second claim takes the other
      fieldsDone.push(claimed?.params.field)
      expect(await worker.runBatch(claimed!)).toBe('continue') // 15 of 40 rows converted
    }
    expect(fieldsDone.sort()).toEqual(['n', 'name'])
    offsetMs = 0
    const fields = new Map<string, FieldSpec>(['id', 'name', 'n', 'tag'].map((name) => [name, { name, type: name === 'id' || name === 'n' ? 'integer' : 'string', column: name }]))
    const condition = (arb: fc.Arbitrary<unknown>) => {
      const orNull = fc.option(arb, { freq: 4 })
      const list = fc.array(orNull, { maxLength: 4 })
      return fc.oneof(orNull, orNull.map(($eq) => ({ $eq })), orNull.map(($ne) => ({ $ne })), list.map(($in) => ({ $in })), list.map(($nin) => ({ $nin })), fc.boolean().map(($exists) => ({ $exists })))
    }
    const filter = fc.record({ name: condition(value.name), n: condition(value.n), $or: fc.array(fc.record({ tag: condition(fc.constantFrom('x', 'y')) }), { minLength: 1, maxLength: 2 }) }, { requiredKeys: [] })
    await fc.assert(
      fc.asyncProperty(filter, async (query) => {
        const found = await h.request('POST', '/api/models/props/find', { token: propsToken, body: { filter: query, options: { limit: 100 } } })
        expect(found.status, found.text).toBe(200)
        const expected = rows.filter((row) => matches(query, row, fields)).map((row) => row.id)
        expect(found.body.data.map((record: { id: number }) => record.id)).toEqual(expected)
        expect(found.body.meta.total).toBe(expected.length)
      }),
      { numRuns: 60 },
    )
    // Both forms are really there: converted rows hold ciphertext of name and a plain n, the others the reverse.
    const table = (await h.db.query<{ t: string }>("SELECT table_name AS t FROM vault_models WHERE name = 'props'")).rows[0]!.t
    const forms = (await h.db.query<{ a: number; b: number; c: number; d: number }>(`SELECT count(name)::int AS a, count(_cv_name)::int AS b, count(n)::int AS c, count(_cv_n)::int AS d FROM vault."${table}"`)).rows[0]!
    expect(forms.a).toBeGreaterThan(0)
    expect(forms.b).toBeGreaterThan(0)
    expect(forms.c).toBeGreaterThan(0)
    expect(forms.d).toBeGreaterThan(0)
    // Finish both (their leases run out first), so the space has no conversion left.
    offsetMs = 70_000
    for (let claimed = await worker.claim(); claimed; claimed = await worker.claim()) {
      let outcome = 'continue'
      for (let i = 0; i < 10 && outcome === 'continue'; i++) outcome = await worker.runBatch(claimed)
      expect(outcome).toBe('done')
    }
    offsetMs = 0
    expect(await Promise.all([{ name: 'ann' }, { n: 2 }].map(async (query) => (await h.request('POST', '/api/models/props/find', { token: propsToken, body: { filter: query } })).body.meta.total))).toEqual(
      [{ name: 'ann' }, { n: 2 }].map((query) => rows.filter((row) => matches(query, row, fields)).length),
    )
  })

  it('refuses a type change at the same time, and a conversion while a key rotation runs', async () => {
    const typed = await h.request('PUT', '/v1/spaces/default/vault/models/people', { ...admin(), body: fields({ city: { type: 'string', encrypted: true, searchable: 'equality' }, secret: { type: 'string', searchable: true }, note: { type: 'json', encrypted: true } }) })
    expect(typed.status).toBe(409)
    expect(typed.body.error.message).toContain('one change at a time')
    const rotated = await h.request('POST', '/v1/spaces/default/vault/keys/data/rotate', admin())
    expect(rotated.status, rotated.text).toBe(202)
    const during = await h.request('PUT', '/v1/spaces/default/vault/models/people', { ...admin(), body: fields({ city: { type: 'string', encrypted: true, searchable: 'equality' }, secret: { type: 'string', searchable: true }, note: { type: 'string', encrypted: true } }) })
    expect(during.status).toBe(409)
    expect(during.body.error.message).toContain(rotated.body.job.id)
  })
})
