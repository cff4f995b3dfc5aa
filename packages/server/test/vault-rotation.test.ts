import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobRunner, createJobsStore } from '../src/modules/jobs/index.js'
import { createReencryptJob, REENCRYPT_JOB } from '../src/modules/vault/crypto/reencrypt-job.js'
import { createReindexJob, REINDEX_JOB } from '../src/modules/vault/crypto/reindex-job.js'
import { createModelsStore } from '../src/modules/vault/models/models-store.js'
import { createRecordsStore } from '../src/modules/vault/records/records-store.js'
import { createHarness, STORE, type Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

/** Records in `npm test`; the bench runs the same rotation over 100,000. */
const RECORDS = Number(process.env.VAULT_ROTATION_RECORDS ?? 600)

let h: Harness
let token: string
beforeAll(async () => {
  h = await createHarness()
  const created = await h.request('POST', '/v1/spaces/default/vault/models', {
    token: h.adminToken,
    body: { name: 'people', primaryKey: 'id', fields: { id: { type: 'integer' }, name: { type: 'string', encrypted: true, searchable: 'equality' }, born: { type: 'date', encrypted: true }, city: { type: 'string' } } },
  })
  expect(created.status, created.text).toBe(201)
  ;({ token } = await setUpVault(h, { people: { actions: ['read', 'write'], acl: { source: 'none' } } }, null))
  for (let start = 0; start < RECORDS; start += 100) {
    const records = Array.from({ length: Math.min(100, RECORDS - start) }, (_, i) => ({ id: start + i, name: `person-${(start + i) % 50}`, born: '1990-01-02', city: 'Lisbon' }))
    const batch = await h.request('POST', '/api/models/people/batch', { token, body: { records } })
    expect(batch.status, batch.text).toBe(201)
  }
})
afterAll(() => h.close())

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined }
const versions = async () => {
  const table = (await h.db.query<{ t: string }>("SELECT table_name AS t FROM vault_models WHERE name = 'people'")).rows[0]!.t
  const { rows } = await h.db.query<{ v: number; n: number }>(`SELECT get_byte(name, 4) AS v, count(*)::int AS n FROM vault."${table}" GROUP BY 1 ORDER BY 1`)
  return Object.fromEntries(rows.map((row) => [row.v, row.n]))
}

describe(`data key rotation on ${STORE}`, () => {
  it('re-encrypts every record in batches while finds and writes go on; a runner killed midway is taken over; then the old key is gone', async () => {
    const rotated = await h.request('POST', '/v1/spaces/default/vault/keys/data/rotate', { token: h.adminToken })
    expect(rotated.status, rotated.text).toBe(202)
    expect(rotated.body.version).toBe(2)
    expect(rotated.body.job).toMatchObject({ state: 'queued', done: 0, total: RECORDS }) // counted with the rotation
    const jobId = rotated.body.job.id as string
    const spaceId = rotated.body.job.space as string

    let offsetMs = 0
    const handler = createReencryptJob({ db: h.db, keys: h.built.services.keys, models: createModelsStore(), records: createRecordsStore(), batch: 100 })
    const runner = (owner: string) => createJobRunner({ db: h.db, store: createJobsStore(), clock: () => new Date(Date.now() + offsetMs), handlers: { [REENCRYPT_JOB]: handler }, owner, logger: quiet, leaseMs: 60_000 })
    const a = runner('node-a')
    const claimed = await a.claim()
    expect(claimed?.id).toBe(jobId)
    for (let i = 0; i < 2; i++) expect(await a.runBatch(claimed!)).toBe('continue')

    // Mid-way: records under both versions, and every call still answers.
    expect(await versions()).toEqual({ 1: RECORDS - 200, 2: 200 })
    const found = await h.request('POST', '/api/models/people/find', { token, body: { filter: { name: 'person-7' }, options: { limit: 100 } } })
    expect(found.status, found.text).toBe(200)
    expect(found.body.meta.total).toBe(Math.ceil((RECORDS - 7) / 50))
    expect((await h.request('GET', `/api/models/people/${RECORDS - 1}`, { token })).body.name).toBe(`person-${(RECORDS - 1) % 50}`)
    expect((await h.request('POST', '/api/models/people', { token, body: { id: RECORDS, name: 'late', born: '2000-01-01' } })).status).toBe(201)
    const progress = await h.request('GET', `/v1/spaces/default/vault/jobs/${jobId}`, { token: h.adminToken })
    expect(progress.body).toMatchObject({ state: 'running', done: 200, total: RECORDS })

    // Node A dies without releasing; once its lease runs out, node B resumes from the committed cursor.
    offsetMs = 61_000
    const b = runner('node-b')
    const taken = await b.claim()
    expect(taken?.id).toBe(jobId)
    let outcome = 'continue'
    for (let i = 0; i < 100 && outcome === 'continue'; i++) outcome = await b.runBatch(taken!)
    expect(outcome).toBe('done')
    const finished = await h.request('GET', `/v1/spaces/default/vault/jobs/${jobId}`, { token: h.adminToken })
    expect(finished.body).toMatchObject({ state: 'succeeded', done: RECORDS + 1, total: RECORDS + 1 }) // the record created meanwhile counted at the end

    expect(await versions()).toEqual({ 2: RECORDS + 1 })
    expect((await h.built.services.keys.dataKeyVersions(h.db, spaceId))(1)).toBeUndefined() // retired: nothing opens with it any more
    const all = await h.request('POST', '/api/models/people/find', { token, body: { filter: { name: { $in: ['person-7', 'late'] } }, options: { limit: 100 } } })
    expect(all.body.meta.total).toBe(Math.ceil((RECORDS - 7) / 50) + 1)
    const audit = await h.request('GET', '/v1/spaces/default/audit?event=vault/data_key_rotate', { token: h.adminToken })
    expect(audit.body.events[0].meta).toEqual({ version: 2, jobId })
  })

  it('an index key rotation re-indexes every record; finds search both versions meanwhile, then the old one is retired', async () => {
    const rotated = await h.request('POST', '/v1/spaces/default/vault/models/people/fields/name/index-key/rotate', { token: h.adminToken })
    expect(rotated.status, rotated.text).toBe(202)
    expect(rotated.body.job.total).toBe(RECORDS + 1)
    const spaceId = rotated.body.job.space as string
    const handler = createReindexJob({ db: h.db, keys: h.built.services.keys, models: createModelsStore(), records: createRecordsStore(), batch: 100 })
    const runner = createJobRunner({ db: h.db, store: createJobsStore(), clock: () => new Date(), handlers: { [REINDEX_JOB]: handler }, owner: 'node-c', logger: quiet })
    const claimed = await runner.claim()
    expect(claimed?.id).toBe(rotated.body.job.id)
    expect(await runner.runBatch(claimed!)).toBe('continue')
    const expected = Math.ceil((RECORDS - 7) / 50)
    const find = async () => (await h.request('POST', '/api/models/people/find', { token, body: { filter: { name: 'person-7' }, options: { limit: 100 } } })).body.meta.total
    expect(await find()).toBe(expected) // 100 rows under the new index key, the rest under the old: both searched
    let outcome = 'continue'
    for (let i = 0; i < 100 && outcome === 'continue'; i++) outcome = await runner.runBatch(claimed!)
    expect(outcome).toBe('done')
    expect((await h.request('GET', `/v1/spaces/default/vault/jobs/${rotated.body.job.id}`, { token: h.adminToken })).body).toMatchObject({ state: 'succeeded', done: RECORDS + 1, total: RECORDS + 1 })
    const keys = await h.built.services.keys.indexKey(h.db, spaceId, 'people', 'name')
    expect(keys.current.version).toBe(2)
    expect(keys.previous).toBeNull()
    expect(await find()).toBe(expected)
    const refused = await h.request('POST', '/v1/spaces/default/vault/models/people/fields/city/index-key/rotate', { token: h.adminToken })
    expect(refused.status).toBe(400)
  })
})
