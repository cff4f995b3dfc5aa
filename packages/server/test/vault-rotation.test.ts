import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobRunner, createJobsStore } from '../src/modules/jobs/index.js'
import { createReindexJob, REINDEX_JOB } from '../src/modules/vault/crypto/reindex-job.js'
import { createModelsStore } from '../src/modules/vault/models/models-store.js'
import { createRecordsStore } from '../src/modules/vault/records/records-store.js'
import { createHarness, STORE, type Harness } from './harness.js'
import { PEOPLE, seedPeople } from './vault-rotation-fixture.js'
import { setUpVault } from './vault-harness.js'

/**
 * Index key rotation, driven batch by batch. The data key's rotation (under load, over 100,000
 * records, its runner killed and taken over) is vault-rotation-load.test.ts.
 */
const RECORDS = 600
/** 50 names: each name's records span the first batch (re-indexed) and the rest (not yet). */
const SHAPE = { names: 50, cities: 10 }

let h: Harness
let token: string
beforeAll(async () => {
  h = await createHarness({ vault: { keyJobDelayMs: 5_000 } })
  const created = await h.request('POST', '/v1/spaces/default/vault/models', { token: h.adminToken, body: PEOPLE })
  expect(created.status, created.text).toBe(201)
  ;({ token } = await setUpVault(h, { people: { actions: ['read', 'write'], acl: { source: 'none' } } }, null))
  await seedPeople(h, RECORDS, SHAPE)
})
afterAll(() => h.close())

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined }

describe(`index key rotation on ${STORE}`, () => {
  it('re-indexes every record, its size known from the start; finds search both versions meanwhile, then the old one is retired', async () => {
    const rotated = await h.request('POST', '/v1/spaces/default/vault/models/people/fields/name/index-key/rotate', { token: h.adminToken })
    expect(rotated.status, rotated.text).toBe(202)
    expect(rotated.body.job).toMatchObject({ kind: REINDEX_JOB, state: 'queued', done: 0, total: RECORDS })
    const spaceId = rotated.body.job.space as string
    const handler = createReindexJob({ db: h.db, keys: h.built.services.keys, models: createModelsStore(), records: createRecordsStore(), batch: 100 })
    let offsetMs = 0
    const runner = createJobRunner({ db: h.db, store: createJobsStore(), clock: () => new Date(Date.now() + offsetMs), handlers: { [REINDEX_JOB]: handler }, owner: 'node-c', logger: quiet })
    // Not before every node has seen the new key: a node still indexing under the old one could
    // otherwise write a row the job already passed, which the old key's retirement leaves unfindable.
    expect(await runner.claim()).toBeNull()
    offsetMs = 6_000
    const claimed = await runner.claim()
    expect(claimed?.id).toBe(rotated.body.job.id)
    expect(await runner.runBatch(claimed!)).toBe('continue')
    const expected = Math.ceil((RECORDS - 7) / SHAPE.names)
    const find = async () => (await h.request('POST', '/api/models/people/find', { token, body: { filter: { name: 'person-7' }, options: { limit: 100 } } })).body.meta.total
    expect(await find()).toBe(expected) // 100 rows under the new index key, the rest under the old: both searched
    // A record written meanwhile is indexed under the new key at once, and counted when the job ends.
    expect((await h.request('POST', '/api/models/people', { token, body: { id: RECORDS, name: 'person-7', born: '2000-01-01', city: 'late' } })).status).toBe(201)
    let outcome = 'continue'
    for (let i = 0; i < 100 && outcome === 'continue'; i++) outcome = await runner.runBatch(claimed!)
    expect(outcome).toBe('done')
    const finished = await h.request('GET', `/v1/spaces/default/vault/jobs/${rotated.body.job.id}`, { token: h.adminToken })
    expect(finished.body).toMatchObject({ state: 'succeeded', done: RECORDS + 1, total: RECORDS + 1 })
    const keys = await h.built.services.keys.indexKey(h.db, spaceId, 'people', 'name')
    expect(keys.current.version).toBe(2)
    expect(keys.previous).toBeNull()
    expect(await find()).toBe(expected + 1)
    const refused = await h.request('POST', '/v1/spaces/default/vault/models/people/fields/city/index-key/rotate', { token: h.adminToken })
    expect(refused.status).toBe(400)
  })
})
