import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type BuiltApp } from '../src/app.js'
import type { Db } from '../src/db/db.js'
import { openPostgresDb } from '../src/db/postgres.js'
import { bucketOf, counterKey, createRateLimitCounters } from '../src/http/rate-limit-store.js'
import { createHarness, type Harness } from './harness.js'
import { sleep } from './webhooks-helpers.js'

/**
 * Rate limits shared by all nodes: node A is the harness's app, node B a second app on the same
 * store (its own pool on PostgreSQL; the same Db on PGlite, where the budget is the one process's).
 */
const SIGN_IN_MAX = 4
let h: Harness
let dbB: Db
let b: BuiltApp
beforeAll(async () => {
  h = await createHarness({ signInAttemptsPerMinute: SIGN_IN_MAX })
  dbB = h.testDb.url ? openPostgresDb({ connectionString: h.testDb.url, maxConnections: 5 }) : h.db
  b = await buildApp({ db: dbB, signer: h.signer, kms: h.kms, clock: h.clock, signInRateLimit: { max: SIGN_IN_MAX, timeWindowMs: 60_000 } })
})
afterAll(async () => {
  await b.app.close()
  if (dbB !== h.db) await dbB.close()
  await h.close()
})

type Node = 'A' | 'B'
/** Without trustProxy the client address is the injector's own: one client for every request here. */
async function post(node: Node, url: string, payload: object) {
  const app = node === 'A' ? h.built.app : b.app
  const response = await app.inject({ method: 'POST', url, payload })
  return { status: response.statusCode, body: response.json() as any }
}

describe('the shared counters', () => {
  it('count one window per key, start a new one when it ends, and say how long is left', async () => {
    const counters = createRateLimitCounters(h.db)
    const key = `window-${Math.random()}`
    expect((await counters.hit(key, 300)).current).toBe(1)
    const second = await counters.hit(key, 300)
    expect(second.current).toBe(2)
    expect(second.ttl).toBeGreaterThan(0)
    expect(second.ttl).toBeLessThanOrEqual(300)
    expect((await counters.read(key)).current).toBe(2)
    expect((await counters.hit(`${key}-other`, 300)).current).toBe(1)
    await sleep(400)
    expect((await counters.read(key)).current).toBe(0)
    expect((await counters.hit(key, 300)).current).toBe(1)
  })

  it('count every concurrent attempt exactly once', async () => {
    const counters = createRateLimitCounters(h.db)
    const key = `race-${Math.random()}`
    const counts = await Promise.all(Array.from({ length: 20 }, () => counters.hit(key, 60_000)))
    expect(counts.map((count) => count.current).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
  })

  it('give grouped routes one bucket and every other route its own', () => {
    expect(bucketOf({ groupId: 'password-sign-in', routeInfo: { method: 'POST', url: '/a' } })).toBe(bucketOf({ groupId: 'password-sign-in', routeInfo: { method: 'POST', url: '/b' } }))
    expect(bucketOf({ routeInfo: { method: 'POST', url: '/a' } })).not.toBe(bucketOf({ routeInfo: { method: 'POST', url: '/b' } }))
    expect(counterKey('b', 'k')).not.toBe(counterKey('b', 'k2'))
    expect(counterKey('b', 'k')).not.toContain('k')
  })
})

describe('rate limits shared by all nodes', () => {
  it('sign-in: attempts split across A and B and both doors spend one budget; the next is refused on either node', async () => {
    const space = `rl-${Math.random().toString(36).slice(2, 8)}`
    await h.createSpace(space)
    const attempt = (node: Node, door: 'auth::signIn' | 'auth/session') => post(node, `/v1/spaces/${space}/${door.replace('::', ':')}`, { email: 'nobody@example.com', password: 'wrong' })
    const statuses = [
      (await attempt('A', 'auth::signIn')).status,
      (await attempt('B', 'auth::signIn')).status,
      (await attempt('A', 'auth/session')).status,
      (await attempt('B', 'auth/session')).status,
    ]
    expect(statuses).toEqual([401, 401, 401, 401])
    for (const [node, door] of [['A', 'auth::signIn'], ['B', 'auth::signIn'], ['B', 'auth/session']] as const) {
      const refused = await attempt(node, door)
      expect(refused.status, `${node} ${door}`).toBe(429)
      expect(refused.body.error).toMatchObject({ code: 'rate_limited', requestId: expect.any(String) })
      expect(refused.body.error.message).toMatch(/too many attempts; try again in/)
    }
    // Another space is another budget.
    expect((await post('B', '/v1/spaces/default/auth:signIn', { email: 'nobody@example.com', password: 'wrong' })).status).toBe(401)
  })

  it('the OAuth token endpoint: 60 a minute per client address across A and B, the 61st refused on either', async () => {
    const form = { grant_type: 'client_credentials', client_id: 'vc_unknown', client_secret: 'nope' }
    const statuses: number[] = []
    for (let i = 0; i < 60; i += 1) statuses.push((await post(i % 2 === 0 ? 'A' : 'B', '/oauth/token', form)).status)
    expect(new Set(statuses)).toEqual(new Set([401]))
    for (const node of ['A', 'B'] as const) {
      const refused = await post(node, '/oauth/token', form)
      expect(refused.status).toBe(429)
      expect(refused.body.error.code).toBe('rate_limited')
    }
  })
})
