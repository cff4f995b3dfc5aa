import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_RETRY_SCHEDULE_MS, decideOutcome, MAX_RETRY_AFTER_MS, parseRetryAfter } from '../src/modules/webhooks/webhooks-delivery.js'
import { createHarness, STORE, type Harness } from './harness.js'
import { createEndpoint, deliveriesOf, enqueue, freshSpace, startReceiver, testWorker } from './webhooks-helpers.js'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

describe(`webhook endpoints on ${STORE}`, () => {
  it('are created, listed, updated, rotated and deleted, each change audited, the secret shown only on create and rotate', async () => {
    const { space, token } = await freshSpace(h)
    const base = `/v1/spaces/${space}/webhooks`
    const created = await h.request('POST', base, {
      token,
      body: { url: 'https://hooks.example.com/gatehouse', description: 'SIEM', events: ['access/grant', 'access/revoke', 'access/grant'] },
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^whe_/),
      url: 'https://hooks.example.com/gatehouse',
      description: 'SIEM',
      events: ['access/grant', 'access/revoke'],
      enabled: true,
      disabledReason: null,
      previousSecretExpiresAt: null,
      secret: expect.stringMatching(/^whsec_/),
    })
    const id = created.body.id as string
    const secret = created.body.secret as string

    const second = await createEndpoint(h, space, token, { url: 'http://second.example.com:9000/in' })
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { status: number; text: string; body: { webhooks: Array<{ id: string }>; nextCursor: string | null } } = await h.request(
        'GET',
        `${base}?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        { token },
      )
      expect(page.text).not.toContain('whsec_')
      seen.push(...page.body.webhooks.map((endpoint) => endpoint.id))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(seen.sort()).toEqual([id, second.id].sort())

    const got = await h.request('GET', `${base}/${id}`, { token })
    expect(got.body.id).toBe(id)
    expect(got.text).not.toContain('whsec_')
    expect(got.body.secret).toBeUndefined()

    const patched = await h.request('PATCH', `${base}/${id}`, { token, body: { events: ['*'], enabled: false } })
    expect(patched.body).toMatchObject({ events: ['*'], enabled: false, disabledReason: 'disabled through the API' })
    expect(patched.text).not.toContain('whsec_')
    expect((await h.request('PATCH', `${base}/${id}`, { token, body: {} })).status).toBe(400)

    const rotated = await h.request('POST', `${base}/${id}:rotateSecret`, { token, body: {} })
    expect(rotated.status).toBe(200)
    expect(rotated.body.secret).toMatch(/^whsec_/)
    expect(rotated.body.secret).not.toBe(secret)

    expect((await h.request('DELETE', `${base}/${id}`, { token })).status).toBe(204)
    expect((await h.request('GET', `${base}/${id}`, { token })).status).toBe(404)
    expect((await h.request('DELETE', `${base}/${id}`, { token })).status).toBe(404)

    const audit = await h.request('GET', `/v1/spaces/${space}/audit?resourceId=${id}&limit=100`, { token })
    expect(audit.text).not.toContain('whsec_')
    // Only where deliveries go: a URL's path and query often carry the receiver's own token.
    expect(audit.text).not.toContain('hooks.example.com/gatehouse')
    expect(audit.body.events.at(-1).meta.urlOrigin).toBe('https://hooks.example.com')
    expect(audit.body.events.map((event: { event: string }) => event.event).reverse()).toEqual([
      'webhook/create',
      'webhook/update',
      'webhook/rotate_secret',
      'webhook/delete',
    ])
  })

  it('refuse URLs that are not http(s), unknown event names and unknown fields', async () => {
    const { space, token } = await freshSpace(h)
    const base = `/v1/spaces/${space}/webhooks`
    for (const url of ['ftp://example.com/x', 'not a url', 'javascript:alert(1)', `https://example.com/${'a'.repeat(2100)}`]) {
      expect((await h.request('POST', base, { token, body: { url } })).status, url).toBe(400)
    }
    expect((await h.request('POST', base, { token, body: { url: 'https://example.com', events: ['access/nope'] } })).status).toBe(400)
    expect((await h.request('POST', base, { token, body: { url: 'https://example.com', secret: 'whsec_mine' } })).status).toBe(400)
    expect((await h.request('POST', `${base}/whe_nothere:rotateSecret`, { token })).status).toBe(404)
    expect((await h.request('GET', `${base}/whe_nothere/deliveries`, { token })).status).toBe(404)
  })

  it('refuse every caller below admin on every webhook route', async () => {
    const member = await h.createUser('member')
    const reviewer = await h.createUser('reviewer')
    const routes = h.built.routes.filter((route) => route.url.startsWith('/v1/spaces/:space/webhooks'))
    expect(routes).toHaveLength(9)
    for (const route of routes) {
      expect(route.access).toEqual({ role: 'admin', scope: 'space:admin' })
      const url = route.url
        .replaceAll('::', '\u0000')
        .replace(':space', 'default')
        .replace(/:[A-Za-z]+(\([^)]*\))?/g, 'x_1')
        .replaceAll('\u0000', ':')
      for (const token of [member.token, reviewer.token]) {
        const response = await h.request(route.method, url, { token, body: route.method === 'GET' || route.method === 'DELETE' ? undefined : {} })
        expect(response.status, `${route.method} ${url}`).toBe(403)
      }
      expect((await h.request(route.method, url)).status).toBe(401)
    }
  })
})

describe(`webhook deliveries on ${STORE}`, () => {
  it('are listed newest first in pages, filtered by state, shown with their attempts, and redelivered with the same webhook-id', async () => {
    const { space, token } = await freshSpace(h)
    const rx = await startReceiver()
    try {
      const endpoint = await createEndpoint(h, space, token, { url: rx.url() })
      for (const n of [1, 2, 3, 4, 5]) await enqueue(h, space, 'access/request', { n })
      const base = `/v1/spaces/${space}/webhooks/${endpoint.id}/deliveries`
      expect((await h.request('GET', `${base}?state=pending`, { token })).body.deliveries).toHaveLength(5)

      const order: string[] = []
      let cursor: string | null = null
      do {
        const page: { body: { deliveries: Array<{ id: string }>; nextCursor: string | null } } = await h.request(
          'GET',
          `${base}?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          { token },
        )
        order.push(...page.body.deliveries.map((delivery) => delivery.id))
        cursor = page.body.nextCursor
      } while (cursor)
      expect(order).toHaveLength(5)
      const details = await Promise.all(order.map((id) => h.request('GET', `${base}/${id}`, { token })))
      expect(details.map((detail) => detail.body.payload.data.n)).toEqual([5, 4, 3, 2, 1])
      expect((await h.request('GET', `${base}?cursor=garbage`, { token })).status).toBe(400)

      const first = order[4]!
      expect((await h.request('POST', `${base}/${first}:redeliver`, { token })).status).toBe(409) // still queued
      expect(await testWorker(h).runOnce()).toBe(5)
      expect((await h.request('GET', `${base}?state=delivered`, { token })).body.deliveries).toHaveLength(5)
      expect((await h.request('GET', `${base}?state=pending`, { token })).body.deliveries).toHaveLength(0)

      const redelivered = await h.request('POST', `${base}/${first}:redeliver`, { token })
      expect(redelivered.status).toBe(202)
      expect(redelivered.body).toMatchObject({ state: 'pending', attemptCount: 1 })
      expect(await testWorker(h).runOnce()).toBe(1)
      const detail = await h.request('GET', `${base}/${first}`, { token })
      expect(detail.body).toMatchObject({ state: 'delivered', attemptCount: 2 })
      expect(detail.body.attempts.map((attempt: { attempt: number }) => attempt.attempt)).toEqual([1, 2])
      const sent = rx.received.filter((request) => request.headers['webhook-id'] === detail.body.messageId)
      expect(sent).toHaveLength(2)
      expect(sent[0]!.body).toBe(sent[1]!.body)

      const audit = await h.request('GET', `/v1/spaces/${space}/audit?event=webhook/redeliver&resourceId=${first}`, { token })
      expect(audit.body.events).toHaveLength(1)
      expect((await h.request('GET', `${base}/whd_nothere`, { token })).status).toBe(404)
      expect((await h.request('POST', `${base}/whd_nothere:redeliver`, { token })).status).toBe(404)
    } finally {
      await rx.close()
    }
  })

  it('disabling an endpoint cancels its queued deliveries; deleting it removes them', async () => {
    const { space, token } = await freshSpace(h)
    const endpoint = await createEndpoint(h, space, token, { url: 'http://127.0.0.1:9/never' })
    await enqueue(h, space, 'access/grant')
    await h.request('PATCH', `/v1/spaces/${space}/webhooks/${endpoint.id}`, { token, body: { enabled: false } })
    expect((await deliveriesOf(h, space, token, endpoint.id)).map((delivery) => delivery.state)).toEqual(['cancelled'])
    expect(await testWorker(h).runOnce()).toBe(0)
    expect((await h.request('DELETE', `/v1/spaces/${space}/webhooks/${endpoint.id}`, { token })).status).toBe(204)
  })
})

describe('the retry policy', () => {
  const policy = { schedule: DEFAULT_RETRY_SCHEDULE_MS, jitter: 0.1, random: () => 1 }
  const at = new Date('2030-01-01T00:00:00Z')

  it('follows the Standard Webhooks schedule with ±10% jitter, 8 attempts in all', () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS).toHaveLength(8)
    const after = (attempt: number, random: number) =>
      decideOutcome({ statusCode: 500, retryAfter: null }, attempt, at, { ...policy, random: () => random }).nextAttemptAt!.getTime() - at.getTime()
    expect([after(1, 0.5), after(2, 0.5), after(3, 0.5), after(4, 0.5), after(5, 0.5), after(6, 0.5), after(7, 0.5)]).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ])
    expect(after(2, 0)).toBe(270_000)
    expect(after(2, 1)).toBe(330_000)
    expect(decideOutcome({ statusCode: 500, retryAfter: null }, 8, at, policy)).toEqual({ state: 'failed', gone: false, nextAttemptAt: null })
    expect(decideOutcome({ statusCode: 204, retryAfter: null }, 1, at, policy).state).toBe('delivered')
    expect(decideOutcome({ statusCode: 410, retryAfter: null }, 1, at, policy)).toMatchObject({ state: 'failed', gone: true })
    expect(decideOutcome({ statusCode: 302, retryAfter: null }, 1, at, policy).state).toBe('pending')
  })

  it('reads Retry-After as seconds or an HTTP date, caps it at 24 h, and honours it only on 429 and 503', () => {
    expect(parseRetryAfter('120', at)).toBe(120_000)
    expect(parseRetryAfter(new Date(at.getTime() + 90_000).toUTCString(), at)).toBe(90_000)
    expect(parseRetryAfter(new Date(at.getTime() - 90_000).toUTCString(), at)).toBe(0)
    expect(parseRetryAfter('99999999', at)).toBe(MAX_RETRY_AFTER_MS)
    expect(parseRetryAfter('soon', at)).toBeNull()
    expect(parseRetryAfter(null, at)).toBeNull()
    const wait = (statusCode: number) =>
      decideOutcome({ statusCode, retryAfter: '3600' }, 1, at, policy).nextAttemptAt!.getTime() - at.getTime()
    expect(wait(429)).toBe(3_600_000)
    expect(wait(503)).toBe(3_600_000)
    expect(wait(500)).toBe(5_500)
  })
})
