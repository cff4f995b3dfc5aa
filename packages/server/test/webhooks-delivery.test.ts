import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openPostgresDb } from '../src/db/postgres.js'
import { createWebhooksStore } from '../src/modules/webhooks/index.js'
import { createHarness, STORE, type Harness } from './harness.js'
import { createEndpoint, deliveriesOf, enqueue, freshSpace, runUntil, sleep, startReceiver, testWorker, type Receiver } from './webhooks-helpers.js'

let h: Harness
const cleanups: Array<() => Promise<unknown>> = []
beforeAll(async () => {
  h = await createHarness()
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})
afterAll(() => h.close())

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const started = await startReceiver(...args)
  cleanups.push(() => started.close())
  return started
}

const otherSecret = () => `whsec_${randomBytes(24).toString('base64')}`

describe(`webhook delivery on ${STORE}`, () => {
  it('is signed so that standardwebhooks verifies it with the endpoint secret, and with no other', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver()
    const endpoint = await createEndpoint(h, space, token, { url: rx.url() })
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    await enqueue(h, space, 'access/grant', { requestId: 'req_1', user: 'usr_1' })

    expect(await testWorker(h).runOnce()).toBe(1)
    expect(rx.received).toHaveLength(1)
    const [request] = rx.received
    expect(request!.headers['content-type']).toBe('application/json')
    expect(request!.headers['webhook-id']).toMatch(/^msg_/)
    expect(Number(request!.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1)
    const payload = new Webhook(endpoint.secret).verify(request!.body, request!.headers) as Record<string, unknown>
    expect(payload).toMatchObject({ type: 'access/grant', data: { requestId: 'req_1', user: 'usr_1' } })
    expect(new Date(payload.timestamp as string).toISOString()).toBe(payload.timestamp)
    expect(() => new Webhook(otherSecret()).verify(request!.body, request!.headers)).toThrow('No matching signature')
    expect(() => new Webhook(endpoint.secret).verify(request!.body.replace('req_1', 'req_2'), request!.headers)).toThrow()

    const [delivery] = await deliveriesOf(h, space, token, endpoint.id)
    expect(delivery).toMatchObject({ state: 'delivered', attemptCount: 1, messageId: request!.headers['webhook-id'], eventType: 'access/grant' })
  })

  it('retries a failing receiver with the same webhook-id until it answers 2xx, recording every attempt', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver((_request, index) => ({ status: index < 3 ? 500 : 200 }))
    const endpoint = await createEndpoint(h, space, token, { url: rx.url() })
    await enqueue(h, space, 'access/request', { requestId: 'req_9' })

    const worker = testWorker(h)
    await runUntil(worker, async () => (await deliveriesOf(h, space, token, endpoint.id))[0]!.state !== 'pending')
    expect(rx.received).toHaveLength(4)
    expect(new Set(rx.received.map((request) => request.headers['webhook-id'])).size).toBe(1)
    expect(new Set(rx.received.map((request) => request.body)).size).toBe(1)

    const [summary] = await deliveriesOf(h, space, token, endpoint.id)
    const detail = await h.request('GET', `/v1/spaces/${space}/webhooks/${endpoint.id}/deliveries/${summary!.id}`, { token })
    expect(detail.body).toMatchObject({ state: 'delivered', attemptCount: 4, nextAttemptAt: null, lastStatusCode: 200, payload: { type: 'access/request' } })
    expect(detail.body.attempts.map((attempt: { attempt: number; statusCode: number }) => [attempt.attempt, attempt.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 200],
    ])
    for (const attempt of detail.body.attempts.slice(0, 3)) expect(attempt.nextAttemptAt).not.toBeNull()
    expect(detail.body.attempts[3].nextAttemptAt).toBeNull()
  })

  it('gives up after the last attempt of the schedule, recording why each one failed', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver()
    const url = rx.url()
    await rx.close() // nothing listens there any more
    const endpoint = await createEndpoint(h, space, token, { url })
    await enqueue(h, space, 'access/deny')

    const worker = testWorker(h, { schedule: [0, 5, 5] })
    await runUntil(worker, async () => (await deliveriesOf(h, space, token, endpoint.id))[0]!.state !== 'pending')
    const [summary] = await deliveriesOf(h, space, token, endpoint.id)
    const detail = await h.request('GET', `/v1/spaces/${space}/webhooks/${endpoint.id}/deliveries/${summary!.id}`, { token })
    expect(detail.body).toMatchObject({ state: 'failed', attemptCount: 3, nextAttemptAt: null })
    for (const attempt of detail.body.attempts) {
      expect(attempt.statusCode).toBeNull()
      // No errno: a closed port and an open non-HTTP one must look alike to a space admin.
      expect(attempt.error).toBe('the endpoint could not be reached')
    }
  })

  it('counts a receiver slower than the timeout as a failed attempt', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver(() => ({ status: 200, delayMs: 1000 }))
    const endpoint = await createEndpoint(h, space, token, { url: rx.url() })
    await enqueue(h, space, 'access/grant')
    expect(await testWorker(h, { timeoutMs: 100 }).runOnce()).toBe(1)
    const [summary] = await deliveriesOf(h, space, token, endpoint.id)
    const detail = await h.request('GET', `/v1/spaces/${space}/webhooks/${endpoint.id}/deliveries/${summary!.id}`, { token })
    expect(detail.body).toMatchObject({ state: 'pending', attemptCount: 1 })
    expect(detail.body.attempts[0]).toMatchObject({ statusCode: null, error: 'timed out' })
    expect(detail.body.attempts[0].durationMs).toBeLessThan(1000)
    await h.request('DELETE', `/v1/spaces/${space}/webhooks/${endpoint.id}`, { token }) // nothing left queued for the next test
  })

  it('disables the endpoint on 410 Gone and stops its other deliveries', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver(() => ({ status: 410 }))
    const endpoint = await createEndpoint(h, space, token, { url: rx.url() })
    await enqueue(h, space, 'access/grant')
    await enqueue(h, space, 'access/revoke')

    expect(await testWorker(h, { batchSize: 1 }).runOnce()).toBe(1)
    const after = await h.request('GET', `/v1/spaces/${space}/webhooks/${endpoint.id}`, { token })
    expect(after.body).toMatchObject({ enabled: false })
    expect(after.body.disabledReason).toContain('410 Gone')
    expect((await deliveriesOf(h, space, token, endpoint.id)).map((delivery) => delivery.state).sort()).toEqual(['cancelled', 'failed'])
    expect(await testWorker(h).runOnce()).toBe(0)

    await enqueue(h, space, 'access/expire')
    expect(await deliveriesOf(h, space, token, endpoint.id)).toHaveLength(2)
    const audit = await h.request('GET', `/v1/spaces/${space}/audit?event=webhook/disable&resourceId=${endpoint.id}`, { token })
    expect(audit.body.events).toHaveLength(1)
    expect(audit.body.events[0].actor).toMatchObject({ kind: 'system' })

    // Once the receiver is back and the endpoint enabled, a cancelled delivery can be sent again.
    rx.respond(() => ({ status: 204 }))
    const cancelled = (await deliveriesOf(h, space, token, endpoint.id)).find((delivery) => delivery.state === 'cancelled')!
    const redeliverUrl = `/v1/spaces/${space}/webhooks/${endpoint.id}/deliveries/${cancelled.id}:redeliver`
    expect((await h.request('POST', redeliverUrl, { token })).status).toBe(409)
    const enabled = await h.request('PATCH', `/v1/spaces/${space}/webhooks/${endpoint.id}`, { token, body: { enabled: true } })
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null })
    expect((await h.request('POST', redeliverUrl, { token })).status).toBe(202)
    expect(await testWorker(h).runOnce()).toBe(1)
    expect(rx.received.at(-1)!.headers['webhook-id']).toBe(cancelled.messageId)
  })

  it('waits as long as a 429 Retry-After asks before the next attempt', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver((_request, index) => (index === 0 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 200 }))
    const endpoint = await createEndpoint(h, space, token, { url: rx.url() })
    await enqueue(h, space, 'access/request')

    const worker = testWorker(h)
    expect(await worker.runOnce()).toBe(1)
    const [summary] = await deliveriesOf(h, space, token, endpoint.id)
    const detail = await h.request('GET', `/v1/spaces/${space}/webhooks/${endpoint.id}/deliveries/${summary!.id}`, { token })
    const [first] = detail.body.attempts
    expect(first.statusCode).toBe(429)
    const waitMs = Date.parse(first.nextAttemptAt) - Date.parse(first.attemptedAt)
    expect(waitMs).toBeGreaterThanOrEqual(3000)
    expect(waitMs).toBeLessThan(3000 + first.durationMs + 1000)

    await sleep(50) // far past the 10 ms the schedule alone would wait
    expect(await worker.runOnce()).toBe(0)
    worker.advance(3000)
    expect(await worker.runOnce()).toBe(1)
    expect((await deliveriesOf(h, space, token, endpoint.id))[0]!.state).toBe('delivered')
    expect(rx.received).toHaveLength(2)
  })

  it('sends each endpoint only the events its filter names', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver()
    const grantsOnly = await createEndpoint(h, space, token, { url: rx.url('/grants'), events: ['access/grant'] })
    const star = await createEndpoint(h, space, token, { url: rx.url('/star'), events: ['*'] })
    const all = await createEndpoint(h, space, token, { url: rx.url('/all') })
    await createEndpoint(h, space, token, { url: rx.url('/off'), enabled: false })
    await enqueue(h, space, 'access/request')
    await enqueue(h, space, 'access/grant')

    const worker = testWorker(h)
    await runUntil(worker, () => rx.received.length >= 5)
    expect(await worker.runOnce()).toBe(0)
    const typesAt = (path: string) => rx.received.filter((request) => request.path === path).map((request) => JSON.parse(request.body).type).sort()
    expect(typesAt('/grants')).toEqual(['access/grant'])
    expect(typesAt('/star')).toEqual(['access/grant', 'access/request'])
    expect(typesAt('/all')).toEqual(['access/grant', 'access/request'])
    expect(typesAt('/off')).toEqual([])
    expect(await deliveriesOf(h, space, token, grantsOnly.id)).toHaveLength(1)
    expect(await deliveriesOf(h, space, token, star.id)).toHaveLength(2)
    expect(await deliveriesOf(h, space, token, all.id)).toHaveLength(2)
  })

  it('sends nothing for an event whose transaction rolled back', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver()
    const endpoint = await createEndpoint(h, space, token, { url: rx.url() })
    await expect(
      h.db.transaction(async (tx) => {
        await h.built.services.webhooks.enqueue(tx, space, { type: 'access/grant', data: {} })
        throw new Error('the change being announced failed')
      }),
    ).rejects.toThrow('failed')
    expect(await testWorker(h).runOnce()).toBe(0)
    expect(await deliveriesOf(h, space, token, endpoint.id)).toHaveLength(0)
    expect(rx.received).toHaveLength(0)
  })

  it('a server killed between commit and delivery delivers after restart, and one killed mid-send retries after its lease', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver()
    const endpoint = await createEndpoint(h, space, token, { url: rx.url() })
    // Committed, and no worker ran: as if the process died right after the commit.
    await enqueue(h, space, 'access/grant', { n: 1 })
    // A fresh worker as a restarted process would have, on its own connection pool where there can be one.
    const db = STORE === 'postgres' ? openPostgresDb({ connectionString: h.testDb.url!, maxConnections: 2 }) : h.db
    if (db !== h.db) cleanups.push(() => db.close())
    expect(await testWorker(h, { db }).runOnce()).toBe(1)
    expect(rx.received).toHaveLength(1)

    // Claimed by a worker that then died before sending: the lease keeps others off until it runs out.
    await enqueue(h, space, 'access/revoke', { n: 2 })
    const now = new Date()
    const claimed = await createWebhooksStore().claimDue(h.db, { now, lockedUntil: new Date(now.getTime() + 60_000), leaseId: 'dead', limit: 10 })
    expect(claimed).toHaveLength(1)
    const restarted = testWorker(h, { db })
    expect(await restarted.runOnce()).toBe(0)
    restarted.advance(61_000)
    expect(await restarted.runOnce()).toBe(1)
    expect(rx.received.map((request) => JSON.parse(request.body).data.n)).toEqual([1, 2])
    expect((await deliveriesOf(h, space, token, endpoint.id)).every((delivery) => delivery.state === 'delivered')).toBe(true)
  })

  it('two workers running at once deliver each message exactly once', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver(() => ({ status: 200, delayMs: 15 }))
    const endpoint = await createEndpoint(h, space, token, { url: rx.url() })
    const count = 24
    for (let n = 0; n < count; n++) await enqueue(h, space, 'access/request', { n })

    // On PostgreSQL each worker has its own pool, as two server processes would.
    const second = STORE === 'postgres' ? openPostgresDb({ connectionString: h.testDb.url!, maxConnections: 4 }) : h.db
    if (second !== h.db) cleanups.push(() => second.close())
    const workers = [testWorker(h, { batchSize: 3 }), testWorker(h, { db: second, batchSize: 3 })]
    const attempted = [0, 0]
    await Promise.all(
      workers.map(async (worker, index) => {
        for (let round = 0; round < 100 && rx.received.length < count; round++) attempted[index]! += await worker.runOnce()
      }),
    )
    expect(attempted[0]! + attempted[1]!).toBe(count)
    expect(attempted[0]).toBeGreaterThan(0)
    expect(attempted[1]).toBeGreaterThan(0)
    const ids = rx.received.map((request) => request.headers['webhook-id'])
    expect(ids).toHaveLength(count)
    expect(new Set(ids).size).toBe(count)
    expect((await deliveriesOf(h, space, token, endpoint.id)).filter((delivery) => delivery.state === 'delivered')).toHaveLength(count)
  })

  it('signs with both secrets during a rotation overlap, and with the new one only after it', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver()
    const endpoint = await createEndpoint(h, space, token, { url: rx.url() })
    const rotated = await h.request('POST', `/v1/spaces/${space}/webhooks/${endpoint.id}:rotateSecret`, { token })
    expect(rotated.status).toBe(200)
    expect(rotated.body.secret).toMatch(/^whsec_/)
    expect(rotated.body.secret).not.toBe(endpoint.secret)
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23 * 3600 * 1000)

    await enqueue(h, space, 'access/approve')
    expect(await testWorker(h).runOnce()).toBe(1)
    const during = rx.received[0]!
    const signatures = during.headers['webhook-signature']!.split(' ')
    expect(signatures).toHaveLength(2)
    for (const signature of signatures) expect(signature).toMatch(/^v1,/)
    expect(new Webhook(endpoint.secret).verify(during.body, during.headers)).toMatchObject({ type: 'access/approve' })
    expect(new Webhook(rotated.body.secret).verify(during.body, during.headers)).toMatchObject({ type: 'access/approve' })
    expect(() => new Webhook(otherSecret()).verify(during.body, during.headers)).toThrow()

    // After the overlap (default 24 h) only the new secret signs.
    await enqueue(h, space, 'access/approve')
    const later = testWorker(h)
    later.advance(24 * 3600 * 1000 + 60_000)
    expect(await later.runOnce()).toBe(1)
    expect(rx.received[1]!.headers['webhook-signature']!.split(' ')).toHaveLength(1)

    // An overlap of 0 drops the old secret at once (for a leaked one).
    const again = await h.request('POST', `/v1/spaces/${space}/webhooks/${endpoint.id}:rotateSecret`, { token, body: { overlapSeconds: 0 } })
    await enqueue(h, space, 'access/approve')
    expect(await testWorker(h).runOnce()).toBe(1)
    const after = rx.received[2]!
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1)
    expect(new Webhook(again.body.secret).verify(after.body, after.headers)).toMatchObject({ type: 'access/approve' })
    expect(() => new Webhook(rotated.body.secret).verify(after.body, after.headers)).toThrow()
  })

  it('a nudge sends at once instead of at the next poll', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await receiver()
    await createEndpoint(h, space, token, { url: rx.url() })
    const worker = testWorker(h, { pollIntervalMs: 60_000 })
    worker.start()
    cleanups.push(() => worker.stop())
    await sleep(100) // let the first poll find nothing and go to sleep
    await enqueue(h, space, 'access/grant')
    worker.notify()
    for (let waited = 0; waited < 10_000 && rx.received.length === 0; waited += 20) await sleep(20)
    expect(rx.received).toHaveLength(1)
  })
})
