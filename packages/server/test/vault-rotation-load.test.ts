import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db, Queryable, Transaction } from '../src/db/db.js'
import { decryptValue, fieldAad } from '../src/lib/crypto/field-crypto.js'
import { createJobRunner, createJobsStore, type Job } from '../src/modules/jobs/index.js'
import { ident } from '../src/modules/vault/models/model-ddl.js'
import { createModelsStore } from '../src/modules/vault/models/models-store.js'
import { createReencryptJob, REENCRYPT_JOB } from '../src/modules/vault/crypto/reencrypt-job.js'
import { createRecordsStore } from '../src/modules/vault/records/records-store.js'
import { createHarness, STORE, type Harness } from './harness.js'
import { ENCRYPTED_FIELDS, PEOPLE, peopleTable, person, personOf, seedPeople, storedVersions, type Person } from './vault-rotation-fixture.js'
import { setUpVault } from './vault-harness.js'

/**
 * Issue 17's rotation under load: a data key rotation over 100,000 records, run by the real job
 * runner in the background while finds, gets and writes go on through HTTP and are checked value by
 * value; the runner's process dies midway (its connection gone, its lease kept), another node takes
 * the job over once the lease has run out on its clock, and finishes it. Afterwards every stored
 * value is under the new key, none opens with the old key's bytes, and the old version is erased.
 */
const RECORDS = Number(process.env.VAULT_ROTATION_RECORDS ?? 100_000)
/** 100 records per name and 200 per city: a find by name returns them all in one page. */
const SHAPE = { names: Math.max(1, Math.ceil(RECORDS / 100)), cities: Math.max(1, Math.ceil(RECORDS / 200)) }
/** Generous bounds for a loaded 2-core machine; a hang fails with a message instead of the test's timeout. */
const PHASE_MS = 150_000

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let h: Harness
let token: string
let seedMs = 0
/** Stops what a failed test left running (the load, the runners) before the store closes. */
const cleanups: Array<() => Promise<unknown>> = []
beforeAll(async () => {
  h = await createHarness()
  const created = await h.request('POST', '/v1/spaces/default/vault/models', { token: h.adminToken, body: PEOPLE })
  expect(created.status, created.text).toBe(201)
  ;({ token } = await setUpVault(h, { people: { actions: ['read', 'write'], acl: { source: 'none' } } }, null))
  seedMs = await seedPeople(h, RECORDS, SHAPE)
}, 300_000)
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined)
  await h?.close()
})

/**
 * A Db whose connection can be cut, as when the process holding it dies: every statement after
 * `kill()` fails, so the batch in flight rolls back, and nothing (not even giving the lease up)
 * reaches the database any more.
 */
function killableDb(db: Db): Db & { kill(): void } {
  let dead = false
  const alive = () => {
    if (dead) throw new Error('connection terminated: the process died')
  }
  const guard = <Q extends Queryable>(q: Q): Queryable['query'] =>
    async (sql, params) => {
      alive()
      return q.query(sql, params)
    }
  return {
    kind: db.kind,
    query: guard(db),
    transaction: (work) =>
      db.transaction((tx) => {
        alive()
        const cut: Transaction = { query: guard(tx), copyFrom: async (target, input) => (alive(), tx.copyFrom(target, input)) }
        return work(cut)
      }),
    withAdvisoryLock: (key, work) => db.withAdvisoryLock(key, work),
    listen: (channel, onNotify, onReconnect) => db.listen(channel, onNotify, onReconnect),
    close: () => db.close(),
    kill: () => {
      dead = true
    },
  }
}

/**
 * Issues finds (by the encrypted searchable name, by the plain city), gets and writes (creates,
 * patches) one after another until stopped, checking each answer against what was written.
 */
function startLoad(h: Harness, token: string) {
  const patched = new Map<number, Person>()
  const created: Person[] = []
  const expected = (id: number): Person => patched.get(id) ?? (id < RECORDS ? person(id, SHAPE) : created[id - RECORDS]!)
  const counts = { findByName: 0, findByCity: 0, get: 0, create: 0, patch: 0 }
  let stopping = false
  let failure: unknown = null
  const random = (n: number) => Math.floor(Math.random() * n)

  const checkPage = (answer: { status: number; text: string; body: any }, ids: number[]) => {
    expect(answer.status, answer.text).toBe(200)
    expect(answer.body.meta.total).toBe(ids.length)
    const found = (answer.body.data as Array<Record<string, unknown>>).map(personOf)
    expect(found.length).toBe(Math.min(100, ids.length))
    for (const record of found) expect(record).toEqual(expected(record.id))
    expect(found.every((record) => ids.includes(record.id))).toBe(true)
  }

  async function step(i: number): Promise<void> {
    switch (i % 6) {
      case 0: {
        // A seeded name (100 records, some patched), or now and then a name created during the load (one record).
        const fresh = created.length > 0 && i % 4 === 0 ? created[random(created.length)]! : null
        const name = fresh ? fresh.name : `person-${random(SHAPE.names)}`
        const ids = fresh ? [fresh.id] : Array.from({ length: RECORDS }, (_, id) => id).filter((id) => id % SHAPE.names === Number(name.slice(7)))
        checkPage(await h.request('POST', '/api/models/people/find', { token, body: { filter: { name }, options: { limit: 100 } } }), ids)
        counts.findByName++
        return
      }
      case 1: {
        const city = random(SHAPE.cities)
        const ids = Array.from({ length: RECORDS }, (_, id) => id).filter((id) => id % SHAPE.cities === city)
        checkPage(await h.request('POST', '/api/models/people/find', { token, body: { filter: { city: `city-${city}` }, options: { limit: 100 } } }), ids)
        counts.findByCity++
        return
      }
      case 2:
      case 4: {
        const id = created.length > 0 && i % 3 === 0 ? RECORDS + random(created.length) : random(RECORDS)
        const got = await h.request('GET', `/api/models/people/${id}`, { token })
        expect(got.status, got.text).toBe(200)
        expect(personOf(got.body)).toEqual(expected(id))
        counts.get++
        return
      }
      case 3: {
        // The name is new and searchable; city and note keep the seeded spread of the other finds' answers out of reach.
        const id = RECORDS + created.length
        const record: Person = { id, name: `new-${id}`, born: '2001-02-03', note: `created at step ${i}`, city: 'elsewhere' }
        const answer = await h.request('POST', '/api/models/people', { token, body: record })
        expect(answer.status, answer.text).toBe(201)
        expect(personOf(answer.body)).toEqual(record)
        created.push(record)
        counts.create++
        return
      }
      case 5: {
        const id = random(RECORDS)
        const change = { note: `patched at step ${i}`, born: `2000-01-${String((i % 28) + 1).padStart(2, '0')}` }
        const answer = await h.request('PATCH', `/api/models/people/${id}`, { token, body: change })
        expect(answer.status, answer.text).toBe(200)
        const now = { ...expected(id), ...change }
        expect(personOf(answer.body)).toEqual(now)
        patched.set(id, now)
        counts.patch++
        return
      }
    }
  }

  const loop = (async () => {
    for (let i = 0; !stopping; i++) {
      try {
        await step(i)
      } catch (error) {
        failure = error
        return
      }
    }
  })()

  return {
    counts,
    patched,
    created,
    expected,
    /** Total calls answered (and checked) so far. */
    ops: () => Object.values(counts).reduce((a, b) => a + b, 0),
    failed: () => failure !== null,
    async stop(): Promise<void> {
      stopping = true
      await loop
      if (failure) throw failure
    },
  }
}

describe(`data key rotation under load on ${STORE}`, () => {
  it(`re-encrypts ${RECORDS} records while finds, gets and writes go on; a runner that dies midway is taken over; then nothing opens with the old key`, async () => {
    const startedAt = Date.now()
    const { spaceId, tableName } = await peopleTable(h)
    const keys = h.built.services.keys
    const oldKey = await keys.dataKey(h.db, spaceId)
    expect(oldKey.version).toBe(1)

    const rotated = await h.request('POST', '/v1/spaces/default/vault/keys/data/rotate', { token: h.adminToken })
    expect(rotated.status, rotated.text).toBe(202)
    expect(rotated.body.version).toBe(2)
    expect(rotated.body.job).toMatchObject({ kind: REENCRYPT_JOB, state: 'queued', done: 0, total: RECORDS })
    const jobId = rotated.body.job.id as string
    const job = async (): Promise<Job> => {
      const answer = await h.request('GET', `/v1/spaces/default/vault/jobs/${jobId}`, { token: h.adminToken })
      expect(answer.status, answer.text).toBe(200)
      return answer.body as Job
    }
    const until = async (what: string, done: (current: Job) => boolean): Promise<Job> => {
      const deadline = Date.now() + PHASE_MS
      for (;;) {
        const current = await job()
        if (done(current)) return current
        if (load.failed()) await load.stop() // throws the load's failure
        if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(current)} after ${PHASE_MS} ms`)
        await sleep(100)
      }
    }

    // The real runner and handler, as the server runs them; node A's connection can be cut.
    const models = createModelsStore()
    const records = createRecordsStore()
    const runner = (owner: string, db: Db, clock: () => Date) =>
      createJobRunner({ db, store: createJobsStore(), clock, owner, logger: quiet, leaseMs: 60_000, pollIntervalMs: 50, handlers: { [REENCRYPT_JOB]: createReencryptJob({ db, keys, models, records }) } })
    const dbA = killableDb(h.db)
    const a = runner('node-a', dbA, () => new Date())
    const b = runner('node-b', h.db, () => new Date(Date.now() + 61_000))

    const load = startLoad(h, token)
    cleanups.push(() => load.stop(), () => a.stop(), () => b.stop())
    await sleep(200)
    const opsAtStart = load.ops()
    const at: Record<string, number> = { start: Date.now() }
    a.start()
    const midway = await until('node A re-encrypting', (current) => current.done >= RECORDS * 0.4)
    expect(midway).toMatchObject({ state: 'running', total: RECORDS })
    const opsWhileA = load.ops() - opsAtStart

    // Node A dies: the batch in flight rolls back, and the lease is never given up.
    at.killed = Date.now()
    dbA.kill()
    await a.stop()
    const killedAt = await job()
    expect(killedAt.state).toBe('running')
    expect((await h.db.query<{ lease_owner: string }>('SELECT lease_owner FROM vault_jobs WHERE id = $1', [jobId])).rows[0]!.lease_owner).toBe('node-a')
    // What is under the new key is exactly what the job recorded as done (the batch in flight left
    // nothing), plus the records created meanwhile; patches leave `name` as it was.
    const createdBefore = load.created.length
    const mixed = await storedVersions(h)
    const createdAfter = load.created.length + 1 // one create may have committed, its answer not yet checked
    expect(mixed.name![1]).toBeGreaterThan(0)
    expect(mixed.name![2]! - killedAt.done).toBeGreaterThanOrEqual(createdBefore)
    expect(mixed.name![2]! - killedAt.done).toBeLessThanOrEqual(createdAfter)
    expect(mixed.name![1]).toBe(RECORDS - killedAt.done)

    // While the lease holds, no other node may run the job, and nothing moves; the calls go on.
    expect(await runner('node-c', h.db, () => new Date()).claim()).toBeNull()
    const opsAtKill = load.ops()
    const createdAtKill = load.created.length
    while (load.ops() < opsAtKill + 30 && !load.failed()) await sleep(20)
    expect((await job()).done).toBe(killedAt.done)

    // Node B's clock is past A's lease: it takes the job over from the last committed cursor and finishes.
    const opsBeforeB = load.ops()
    at.takenOver = Date.now()
    b.start()
    const finished = await until('node B finishing', (current) => current.state !== 'running' && current.state !== 'queued')
    at.finished = Date.now()
    await b.stop()
    await load.stop()
    const loadCounts = { ...load.counts }
    expect(finished).toMatchObject({ state: 'succeeded', error: null })
    expect(finished.total).toBe(finished.done)
    // Every seeded record once, plus those created before the last batch (their ids are the highest: past the cursor).
    expect(finished.done).toBeGreaterThanOrEqual(RECORDS + createdAtKill)
    expect(finished.done).toBeLessThanOrEqual(RECORDS + load.created.length)
    expect(opsWhileA).toBeGreaterThan(0)
    expect(load.ops()).toBeGreaterThan(opsBeforeB)
    for (const count of Object.values(loadCounts)) expect(count).toBeGreaterThan(0)

    // Every stored value is under version 2; not one opens with the old key's bytes, every one with the new key gives what was written.
    const all = RECORDS + load.created.length
    expect(await storedVersions(h)).toEqual({
      name: { 2: all },
      born: { 2: all },
      note: { 2: all - Array.from({ length: RECORDS }, (_, id) => load.expected(id)).filter((record) => record.note === null).length },
    })
    const newKey = await keys.dataKey(h.db, spaceId)
    expect(newKey.version).toBe(2)
    // Counted, not one expect per value: 300,000 expects would cost more than the decryption. Each
    // refusal throws (twice: the cipher, then integrity_failed); without stack traces that costs half.
    let openedWithOld = 0
    let checked = 0
    const wrong: string[] = []
    const stackTraceLimit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      for (let after = -1; ; ) {
        const { rows } = await h.db.query<{ id: number | string } & Record<string, Uint8Array | null>>(
          `SELECT id, ${ENCRYPTED_FIELDS.map(ident).join(', ')} FROM vault.${ident(tableName)} WHERE id > $1 ORDER BY id LIMIT 10000`,
          [after],
        )
        if (rows.length === 0) break
        for (const row of rows) {
          const id = Number(row.id)
          const want = load.expected(id)
          for (const field of ENCRYPTED_FIELDS) {
            const stored = row[field]
            if (stored === null || stored === undefined) {
              if (want[field] !== null) wrong.push(`${id}.${field}: missing`)
              continue
            }
            const bytes = Buffer.from(stored)
            const aad = fieldAad(spaceId, 'people', field, String(id))
            try {
              decryptValue(() => oldKey.key, bytes, aad) // the old key, whatever version the header names
              openedWithOld++
            } catch {
              // integrity_failed: what the old key cannot open
            }
            const text = decryptValue((version) => (version === 2 ? newKey.key : undefined), bytes, aad).toString('utf8')
            if (text !== want[field]) wrong.push(`${id}.${field}: ${text} instead of ${want[field]}`)
            checked++
          }
        }
        after = Number(rows.at(-1)!.id)
      }
    } finally {
      Error.stackTraceLimit = stackTraceLimit
    }
    expect(wrong.slice(0, 10)).toEqual([])
    expect(openedWithOld).toBe(0)
    expect(checked).toBe(all * 3 - Array.from({ length: all }, (_, id) => load.expected(id)).filter((record) => record.note === null).length)

    // The old version is retired and its wrapped bytes erased: no node can open anything with it.
    const versions = await h.db.query<{ version: number; retired: boolean; erased: boolean }>(
      'SELECT version, retired_at IS NOT NULL AS retired, wrapped IS NULL AS erased FROM space_data_keys WHERE space_id = $1 ORDER BY version',
      [spaceId],
    )
    expect(versions.rows).toEqual([
      { version: 1, retired: true, erased: true },
      { version: 2, retired: false, erased: false },
    ])
    expect((await keys.dataKeyVersions(h.db, spaceId))(1)).toBeUndefined()

    // Through the API: every record written during the load, and a sample of the rest, reads and is found as written.
    const sample = [...load.patched.keys(), ...load.created.map((record) => record.id), ...Array.from({ length: 50 }, (_, i) => Math.floor((i * RECORDS) / 50))]
    for (const id of sample) {
      const got = await h.request('GET', `/api/models/people/${id}`, { token })
      expect(got.status, got.text).toBe(200)
      expect(personOf(got.body)).toEqual(load.expected(id))
    }
    for (const k of [0, 7, SHAPE.names - 1]) {
      const found = await h.request('POST', '/api/models/people/find', { token, body: { filter: { name: `person-${k}` }, options: { limit: 100 } } })
      expect(found.body.meta.total).toBe(Array.from({ length: RECORDS }, (_, id) => id).filter((id) => id % SHAPE.names === k).length)
      for (const record of found.body.data) expect(personOf(record)).toEqual(load.expected(Number(record.id)))
    }
    for (const record of load.created.slice(0, 20)) {
      const found = await h.request('POST', '/api/models/people/find', { token, body: { filter: { name: record.name } } })
      expect(found.body.data.map(personOf)).toEqual([record])
    }
    const audit = await h.request('GET', '/v1/spaces/default/audit?event=vault/data_key_rotate', { token: h.adminToken })
    expect(audit.body.events[0].meta).toEqual({ version: 2, jobId })

    const ms = (from: string, to: string) => at[to]! - at[from]!
    at.checked = Date.now()
    console.info(
      `[vault-rotation-load ${STORE}] ${RECORDS} records: seeded in ${seedMs} ms; node A ${ms('start', 'killed')} ms for ${killedAt.done}, ` +
        `dead ${ms('killed', 'takenOver')} ms, node B ${ms('takenOver', 'finished')} ms for the rest, checks ${ms('finished', 'checked')} ms (test ${Date.now() - startedAt} ms); ` +
        `checked calls during the job: ${JSON.stringify(loadCounts)}, ${opsWhileA} of them while node A ran`,
    )
  }, 600_000)
})
