import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type BuiltApp } from '../src/app.js'
import type { Db } from '../src/db/db.js'
import { openPostgresDb } from '../src/db/postgres.js'
import { decisionTopic, DECISION_BUCKETS } from '../src/modules/approvals/decision-waiter.js'
import { createHarness, type Harness } from './harness.js'
import { sleep, startReceiver, type Receiver } from './webhooks-helpers.js'

/**
 * Wake-ups from any node: node A is the harness's app, node B a second app on the same store (its
 * own pool and listener on PostgreSQL; the same Db on PGlite). B's fallbacks (the long-poll's re-read,
 * the webhook worker's poll and the job runner's) are a minute long, so only the change feed's hint
 * can explain B answering within seconds.
 */
const FALLBACK_MS = 60_000
/** Well under the fallback, generous for a loaded machine. */
const PROMPT_MS = 5_000

let h: Harness
let dbB: Db
let b: BuiltApp
let rx: Receiver
beforeAll(async () => {
  h = await createHarness()
  dbB = h.testDb.url ? openPostgresDb({ connectionString: h.testDb.url, maxConnections: 5 }) : h.db
  b = await buildApp({ db: dbB, signer: h.signer, kms: h.kms, clock: h.clock, outboundAllow: ['127.0.0.1/32'], wakeups: { approvalRecheckMs: FALLBACK_MS, webhookPollMs: FALLBACK_MS, jobPollMs: FALLBACK_MS } })
  await b.changes.start()
  rx = await startReceiver()
})
afterAll(async () => {
  await b.webhookWorker.stop()
  await b.app.close()
  if (dbB !== h.db) await dbB.close()
  await rx.close()
  await h.close()
})

async function onB(method: string, url: string, options: { token?: string; body?: unknown } = {}) {
  const response = await b.app.inject({
    method: method as 'POST',
    url,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    ...(options.body !== undefined ? { payload: options.body as object } : {}),
  })
  return { status: response.statusCode, body: response.json() as any, text: response.body }
}

describe('decision topics', () => {
  it('spread petitions over a bounded set of topics, the same on every node', () => {
    const topics = new Set(Array.from({ length: 2000 }, (_, i) => decisionTopic(`pet_${i}`)))
    expect(topics.size).toBe(DECISION_BUCKETS)
    expect(decisionTopic('pet_x')).toBe(decisionTopic('pet_x'))
  })
})

describe('wake-ups from any node', () => {
  it('a petition approved on A wakes a waiting approval({ wait }) on B at once, not at its re-read', async () => {
    const space = `wake-${Math.random().toString(36).slice(2, 8)}`
    const admin = await h.createSpace(space)
    const member = await h.createUser('member', { space, adminToken: admin })
    const reviewer = await h.createUser('reviewer', { space, adminToken: admin })
    await h.request('POST', `/v1/spaces/${space}/resources:bulkUpdate`, { token: admin, body: { resources: [{ kind: 'customer', id: 'c_1', displayName: 'One', labels: {} }] } })
    const policy = await h.request('POST', `/v1/spaces/${space}/policies`, { token: admin, body: { name: 'review', priority: 1, match: { resourceKinds: ['customer'] }, decision: { type: 'review' } } })
    expect(policy.status, policy.text).toBe(201)
    const ask = { petitioners: [{ kind: 'user', id: member.id, email: member.email }], resources: [{ kind: 'customer', id: 'c_1' }] }

    // The petition exists (made on A), then B long-polls it.
    const made = await h.request('POST', `/v1/spaces/${space}/approvals`, { token: member.token, body: ask })
    expect(made.body.status, made.text).toBe('waiting')
    const startedAt = Date.now()
    const waiting = onB('POST', `/v1/spaces/${space}/approvals`, { token: member.token, body: { ...ask, waitMs: 25_000 } })
    await sleep(300) // B is inside its wait
    const reviewedAt = Date.now()
    const reviewed = await h.request('POST', `/v1/spaces/${space}/petitions/${made.body.petition.id}:review`, { token: reviewer.token, body: { decision: 'approve' } })
    expect(reviewed.status, reviewed.text).toBe(200)
    const answer = await waiting
    expect(answer.body.status, answer.text).toBe('granted')
    expect(Date.now() - reviewedAt).toBeLessThan(PROMPT_MS)
    expect(Date.now() - startedAt).toBeLessThan(FALLBACK_MS)
  })

  it("a webhook queued by a commit on A is sent by B's worker at once, not at its next poll", async () => {
    const endpoint = await h.request('POST', '/v1/spaces/default/webhooks', { token: h.adminToken, body: { url: rx.url('/wake') } })
    expect(endpoint.status, endpoint.text).toBe(201)
    b.webhookWorker.start()
    // The worker's first poll runs at start; let it finish and go to sleep for its minute.
    await sleep(500)
    const before = rx.received.length
    const queuedAt = Date.now()
    await h.db.transaction((tx) => h.built.services.webhooks.enqueue(tx, 'default', { type: 'access/grant', data: { requestId: 'req_wake' } }))
    h.built.services.webhooks.notify()
    while (rx.received.length === before && Date.now() - queuedAt < PROMPT_MS) await sleep(20)
    expect(rx.received.length).toBeGreaterThan(before)
    expect(rx.received.some((request) => request.path === '/wake' && request.body.includes('req_wake'))).toBe(true)
  })

  it("a job queued by a commit on A is started by B's runner at once, not at its next poll", async () => {
    const space = `jobs-${Math.random().toString(36).slice(2, 8)}`
    const admin = await h.createSpace(space)
    b.jobRunner.start()
    // The runner's first look runs at start and finds nothing; let it go to sleep for its minute.
    await sleep(500)
    const rotatedAt = Date.now()
    const rotated = await h.request('POST', `/v1/spaces/${space}/vault/keys/data/rotate`, { token: admin })
    expect(rotated.status, rotated.text).toBe(202)
    // No model has an encrypted field: the job is one batch that retires the old key, run by B (A runs no jobs).
    let job = rotated.body.job
    while (job.state !== 'succeeded' && Date.now() - rotatedAt < PROMPT_MS) {
      await sleep(20)
      job = (await h.request('GET', `/v1/spaces/${space}/vault/jobs/${job.id}`, { token: admin })).body
    }
    expect(job.state).toBe('succeeded')
    expect(Date.now() - rotatedAt).toBeLessThan(PROMPT_MS)
  })
})
