import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Queryable } from '../src/db/db.js'
import { createJobRunner, createJobsStore, JOBS_QUEUED, type Job, type JobHandler } from '../src/modules/jobs/index.js'
import { createHarness, STORE, type Harness } from './harness.js'

let h: Harness
let offsetMs = 0
const clock = () => new Date(Date.now() + offsetMs)

beforeAll(async () => {
  h = await createHarness()
  await h.db.query('CREATE TABLE job_test_items (job text NOT NULL, n integer NOT NULL, processed integer NOT NULL DEFAULT 0, PRIMARY KEY (job, n))')
  await h.db.query('CREATE TABLE job_test_batches (job text NOT NULL, owner text NOT NULL, first integer NOT NULL, last integer NOT NULL)')
})
afterAll(async () => {
  await h.close()
})

/** Marks up to 10 items after the cursor as processed, and logs the batch: all in the batch's transaction. */
const countItems: JobHandler = async (job: Job, q: Queryable) => {
  const after = job.cursor === null ? 0 : Number(job.cursor)
  const { rows } = await q.query<{ n: number }>('SELECT n FROM job_test_items WHERE job = $1 AND n > $2 ORDER BY n LIMIT 10', [job.id, after])
  if (rows.length === 0) return { processed: 0, cursor: null }
  const ns = rows.map((row) => row.n)
  await q.query('UPDATE job_test_items SET processed = processed + 1 WHERE job = $1 AND n = ANY($2::int[])', [job.id, ns])
  await q.query('INSERT INTO job_test_batches (job, owner, first, last) SELECT $1, lease_owner, $3, $4 FROM vault_jobs WHERE id = $1 AND space_id = $2', [job.id, job.space, ns[0], ns.at(-1)])
  return { processed: ns.length, cursor: rows.length < 10 ? null : String(ns.at(-1)) }
}

const runner = (owner: string, handlers: Record<string, JobHandler> = { 'test-count': countItems }) =>
  createJobRunner({ db: h.db, store: createJobsStore(), clock, handlers, owner, logger: { info: () => undefined, warn: () => undefined, error: () => undefined }, leaseMs: 60_000, retryDelayMs: 1000, maxAttempts: 3 })

async function newCountJob(items: number): Promise<Job> {
  return h.db.transaction(async (tx) => {
    const job = await h.built.services.jobs.create(tx, 'default', { kind: 'test-count', params: { note: 'test' }, total: items })
    await tx.query('INSERT INTO job_test_items (job, n) SELECT $1, g FROM generate_series(1, $2::int) g', [job.id, items])
    return job
  })
}

describe(`background jobs on ${STORE}`, () => {
  it('a job whose runner died midway is resumed after its lease by another runner, each batch exactly once, with progress in the API', async () => {
    const job = await newCountJob(95)
    const a = runner('node-a')
    const claimed = await a.claim()
    expect(claimed?.id).toBe(job.id)
    for (let i = 0; i < 3; i++) expect(await a.runBatch(claimed!)).toBe('continue')
    // Node A dies here: no release. Its lease holds the job off every other runner until it runs out.
    const midway = await h.request('GET', `/v1/spaces/default/vault/jobs/${job.id}`, { token: h.adminToken })
    expect(midway.status, midway.text).toBe(200)
    expect(midway.body).toMatchObject({ id: job.id, kind: 'test-count', state: 'running', done: 30, total: 95, cursor: '30', params: { note: 'test' } })

    const b = runner('node-b')
    expect(await b.runOnce()).toBe(false)
    offsetMs += 60_001
    expect(await b.runOnce()).toBe(true)
    // A comes back (a stalled node, not a dead one): the job is no longer its to run.
    expect(await a.runBatch(claimed!)).toBe('lost')

    const items = await h.db.query<{ processed: number }>('SELECT processed FROM job_test_items WHERE job = $1', [job.id])
    expect(items.rows.map((row) => row.processed)).toEqual(Array(95).fill(1))
    const batches = await h.db.query<{ owner: string; first: number; last: number }>('SELECT owner, first, last FROM job_test_batches WHERE job = $1 ORDER BY first', [job.id])
    expect(batches.rows.map((row) => row.owner)).toEqual([...Array(3).fill('node-a'), ...Array(7).fill('node-b')])
    expect(batches.rows.map((row) => row.first)).toEqual([1, 11, 21, 31, 41, 51, 61, 71, 81, 91])

    const done = await h.request('GET', `/v1/spaces/default/vault/jobs/${job.id}`, { token: h.adminToken })
    expect(done.body).toMatchObject({ state: 'succeeded', done: 95, total: 95, cursor: null, error: null })
    expect(done.body.finishedAt).not.toBeNull()
    const listed = await h.request('GET', '/v1/spaces/default/vault/jobs?state=succeeded', { token: h.adminToken })
    expect(listed.status, listed.text).toBe(200)
    expect(listed.body.jobs.map((j: Job) => j.id)).toContain(job.id)
  })

  it('a runner that stops gives its lease up at once, and another resumes without waiting', async () => {
    const job = await newCountJob(25)
    const a = runner('node-c')
    expect(await a.runOnce({ maxBatches: 1 })).toBe(true)
    expect(await runner('node-d').runOnce()).toBe(true)
    const stored = await h.built.services.jobs.get('default', job.id)
    expect(stored).toMatchObject({ state: 'succeeded', done: 25 })
  })

  it('two runners at once take different jobs', async () => {
    const [first, second] = [await newCountJob(5), await newCountJob(5)]
    const [x, y] = [runner('node-x'), runner('node-y')]
    const claimed = await Promise.all([x.claim(), y.claim()])
    expect(new Set(claimed.map((job) => job?.id))).toEqual(new Set([first.id, second.id]))
    for (const [r, job] of [[x, claimed[0]!], [y, claimed[1]!]] as const) expect(await r.runBatch(job)).toBe('done')
  })

  it('a failing batch changes nothing, is retried after a delay, and fails the job after the last attempt, with the error', async () => {
    const job = await h.db.transaction((tx) => h.built.services.jobs.create(tx, 'default', { kind: 'test-broken' }))
    let calls = 0
    const broken = runner('node-e', {
      'test-broken': async (_job, q) => {
        calls++
        await q.query('INSERT INTO job_test_batches (job, owner, first, last) VALUES ($1, $2, 0, 0)', [job.id, 'broken'])
        throw new Error('the disk is on fire')
      },
    })
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await broken.runOnce()).toBe(true)
      expect(await broken.runOnce()).toBe(false)
      offsetMs += 1001
    }
    expect(await broken.runOnce()).toBe(false)
    expect(calls).toBe(3)
    expect((await h.db.query('SELECT 1 FROM job_test_batches WHERE job = $1', [job.id])).rows).toEqual([])
    const failed = await h.request('GET', `/v1/spaces/default/vault/jobs/${job.id}`, { token: h.adminToken })
    expect(failed.body).toMatchObject({ state: 'failed', error: 'the disk is on fire' })
  })

  it('is admin only, and a job of another space is not found', async () => {
    const job = await newCountJob(1)
    const member = await h.createUser('member')
    expect((await h.request('GET', `/v1/spaces/default/vault/jobs/${job.id}`, { token: member.token })).status).toBe(403)
    const otherToken = await h.createSpace('jobs-other')
    expect((await h.request('GET', `/v1/spaces/jobs-other/vault/jobs/${job.id}`, { token: otherToken })).status).toBe(404)
  })

  it('a hint that arrives while the runner is looking is not lost: it looks again instead of sleeping its poll', async () => {
    const store = createJobsStore()
    let hint: (() => void) | null = null
    const meanwhile: { job: Job | null } = { job: null }
    const runner = createJobRunner({
      db: h.db,
      // The first look finds nothing; a job is committed and announced before it returns (a race the feed cannot order).
      store: {
        ...store,
        async claim(q, claim) {
          const found = await store.claim(q, claim)
          if (!meanwhile.job) {
            meanwhile.job = await newCountJob(3)
            hint?.()
          }
          return found
        },
      },
      clock,
      handlers: { 'test-count': countItems },
      owner: 'node-hinted',
      pollIntervalMs: 60_000, // only the hint can explain the job running within seconds
      changes: {
        subscribe: (topic, subscriber) => {
          expect(topic).toBe(JOBS_QUEUED)
          hint = () => subscriber(topic)
          return () => (hint = null)
        },
      },
    })
    runner.start()
    try {
      const startedAt = Date.now()
      while ((meanwhile.job === null || (await h.built.services.jobs.get('default', meanwhile.job.id)).state !== 'succeeded') && Date.now() - startedAt < 5_000) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect((await h.built.services.jobs.get('default', meanwhile.job!.id)).state).toBe('succeeded')
    } finally {
      await runner.stop()
    }
  })
})
