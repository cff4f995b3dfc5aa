import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { Webhook } from 'standardwebhooks'
import {
  approval,
  AuthenticationError,
  BadRequestError,
  GatehouseAPI,
  getErrorKind,
  InternalServerError,
  NotFoundError,
  parseDuration,
  PermissionDeniedError,
  verifyWebhook,
  WebhookVerificationError,
} from '@gatehouse/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderApiTypes, renderRoutes } from '../scripts/render-api-types.js'
import { listeningHarness, serviceAccountToken } from './listen.js'

let h: Awaited<ReturnType<typeof listeningHarness>>
let portal: GatehouseAPI
let uploader: GatehouseAPI
let reviewer: { token: string }

beforeAll(async () => {
  h = await listeningHarness()
  portal = new GatehouseAPI({ baseUrl: h.url, space: 'default', token: await serviceAccountToken(h, ['access:request', 'access:read'], 'member') })
  uploader = new GatehouseAPI({ baseUrl: h.url, space: 'default', token: await serviceAccountToken(h, ['resources:write', 'resources:read']) })
  reviewer = await h.createUser('reviewer')
  await uploader.resource.bulkUpdate({ resources: ['c_1', 'c_2', 'c_3'].map((id) => ({ kind: 'customer', id })) })
})
afterAll(() => h.close())

const petitioner = { kind: 'user' as const, id: 'u_9', email: 'agent@example.com' }

describe('approval()', () => {
  it('20 concurrent calls for one pair make exactly one petition', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => approval({ client: portal, petitioners: [petitioner], resources: [{ kind: 'customer', id: 'c_1' }], wait: { timeoutMs: 0 } })),
    )
    expect(results.every((result) => result.status === 'rejected' && getErrorKind(result.reason) === 'waiting')).toBe(true)
    const petitions = await portal.petition.list({ state: 'open' })
    expect(petitions.petitions.filter((petition) => petition.resources[0]!.id === 'c_1')).toHaveLength(1)
  })

  it('waits for a quick reviewer and resolves with the grant', async () => {
    const first = await approval({ client: portal, petitioners: [petitioner], resources: [{ kind: 'customer', id: 'c_2' }], wait: { timeoutMs: 0 } }).catch((error) => error)
    setTimeout(() => void new GatehouseAPI({ baseUrl: h.url, space: 'default', token: reviewer.token }).petition.review({ id: first.petition.id, decision: 'approve' }), 300)
    const started = Date.now()
    const result = await approval({ client: portal, petitioners: [petitioner], resources: [{ kind: 'customer', id: 'c_2' }], duration: '2h', wait: { timeoutMs: 8000 } })
    expect(Date.now() - started).toBeLessThan(5000)
    expect(result.grants[0]!.resource).toEqual({ kind: 'customer', id: 'c_2' })
  })

  it('a validation failure is invalid, never waiting', async () => {
    const error = await approval({ client: portal, petitioners: [{ kind: 'user', id: 'x', email: 'not an email' }], resources: [{ kind: 'customer', id: 'c_3' }] }).catch((err) => err)
    expect(error).toBeInstanceOf(BadRequestError)
    expect(getErrorKind(error)).toBe('invalid')
  })
})

describe('resource.bulkUpdate', () => {
  it('uploads 100,000 resources in batches with progress, and repeating it changes nothing', async () => {
    const resources = Array.from({ length: 100_000 }, (_, i) => ({ kind: 'account', id: `a_${i}`, displayName: `Account ${i}`, labels: { tier: String(i % 3) } }))
    const progress: number[] = []
    const first = await uploader.resource.bulkUpdate({ resources, onProgress: ({ done }) => progress.push(done) })
    expect(first).toEqual({ received: 100_000, changed: 100_000 })
    expect(progress.length).toBe(100)
    expect(Math.max(...progress)).toBe(100_000)
    const again = await uploader.resource.bulkUpdate({ resources })
    expect(again.changed).toBe(0)
    const { rows } = await h.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM resources WHERE kind = 'account'")
    expect(rows[0]!.n).toBe(100_000)
    const tier = await uploader.resource.list({ kind: 'account', labels: { tier: '2' }, limit: 5 })
    expect(tier.resources).toHaveLength(5)
    expect(tier.resources.every((resource) => resource.labels.tier === '2')).toBe(true)
  }, 240_000)

  it('a batch with one invalid item changes nothing in that batch and says which item', async () => {
    const resources = Array.from({ length: 1500 }, (_, i) => ({ kind: 'ticket', id: `t_${i}` }))
    resources[1234] = { kind: 'ticket kind with spaces', id: 't_1234' }
    const error = await uploader.resource.bulkUpdate({ resources, concurrency: 1 }).catch((err) => err)
    expect(error).toBeInstanceOf(BadRequestError)
    expect(error.message).toContain('resources[1234].kind')
    const { rows } = await h.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM resources WHERE kind = 'ticket'")
    expect(rows[0]!.n).toBe(1000) // the first batch landed whole; the second, with the bad item, not at all
  })
})

describe('errors', () => {
  it('are typed by status', async () => {
    expect(await uploader.resource.get({ kind: 'customer', id: 'nope' }).catch((error) => error)).toBeInstanceOf(NotFoundError)
    expect(await portal.resource.list().catch((error) => error)).toBeInstanceOf(PermissionDeniedError)
    const wrong = new GatehouseAPI({ baseUrl: h.url, space: 'default', token: 'ghs_nope', maxRetries: 0 })
    const error = await wrong.petition.list().catch((err) => err)
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(error.code).toBe('unauthenticated')
    expect(error.requestId).toMatch(/^req_/)
  })

  it('retries 5xx answers, honouring Retry-After, then gives up with a typed error', async () => {
    let calls = 0
    const flaky = createServer((_req, res) => {
      calls += 1
      if (calls <= 2) return res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' }).end('{"error":{"code":"unavailable","message":"busy"}}')
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"policies":[]}')
    })
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`
    try {
      expect(await new GatehouseAPI({ baseUrl: url, space: 's', token: 't', maxRetries: 2 }).policy.list()).toEqual({ policies: [] })
      expect(calls).toBe(3)
      calls = 0
      const error = await new GatehouseAPI({ baseUrl: url, space: 's', token: 't', maxRetries: 0 }).policy.list().catch((err) => err)
      expect(error).toBeInstanceOf(InternalServerError)
      expect(error.message).toBe('busy')
    } finally {
      await new Promise<void>((resolve) => flaky.close(() => resolve()))
    }
  })

  it('says what is missing when the environment has no space or token', () => {
    expect(() => new GatehouseAPI({ baseUrl: h.url, token: 't', space: '' })).toThrow('GATEHOUSE_SPACE')
  })
})

describe('verifyWebhook', () => {
  const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`
  const body = JSON.stringify({ type: 'access/grant', timestamp: new Date().toISOString(), data: { petition: 'pet_1' } })
  const sign = (at: Date, withSecret = secret) => ({
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(withSecret).sign('msg_1', at, body),
  })

  it('returns the event for a good signature and refuses a bad or stale one', () => {
    expect(verifyWebhook(secret, sign(new Date()), body).type).toBe('access/grant')
    const other = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`
    expect(() => verifyWebhook(secret, sign(new Date(), other), body)).toThrow(WebhookVerificationError)
    expect(() => verifyWebhook(secret, sign(new Date(Date.now() - 120_000)), body, { toleranceSeconds: 60 })).toThrow('60 s')
    expect(() => verifyWebhook(secret, sign(new Date()), body.replace('pet_1', 'pet_2'))).toThrow(WebhookVerificationError)
  })
})

describe('types', () => {
  it('the committed generated types match the server route schemas (run `npm run generate -w packages/sdk` if not)', async () => {
    const committed = readFileSync(new URL('../src/generated/api.ts', import.meta.url), 'utf8')
    expect(committed === (await renderApiTypes())).toBe(true)
    const routes = readFileSync(new URL('../src/generated/routes.ts', import.meta.url), 'utf8')
    expect(routes === (await renderRoutes())).toBe(true)
  })

  it('parses durations', () => {
    expect(parseDuration('2h')).toBe(7200)
    expect(parseDuration('1h30m')).toBe(5400)
    expect(parseDuration(90)).toBe(90)
    expect(() => parseDuration('soon')).toThrow("'soon'")
  })
})

describe('webhooks end to end', () => {
  it("a delivery from the server verifies with the SDK's verifyWebhook", async () => {
    const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = []
    const receiver = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => (body += chunk))
      req.on('end', () => {
        received.push({ headers: req.headers, body })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`
      const endpoint = await h.request('POST', '/v1/spaces/default/webhooks', { token: h.adminToken, body: { url, events: ['access/request'] } })
      expect(endpoint.status, endpoint.text).toBe(201)
      await approval({ client: portal, petitioners: [petitioner], resources: [{ kind: 'customer', id: 'c_3' }], wait: { timeoutMs: 0 } }).catch(() => undefined)
      expect(await h.built.webhookWorker.runOnce()).toBeGreaterThanOrEqual(1)
      expect(received).toHaveLength(1)
      const event = verifyWebhook(endpoint.body.secret, received[0]!.headers, received[0]!.body)
      expect(event.type).toBe('access/request')
      expect(JSON.stringify(event.data)).toContain('c_3')
      expect(() => verifyWebhook(endpoint.body.secret, received[0]!.headers, received[0]!.body.replace('c_3', 'c_4'))).toThrow(WebhookVerificationError)
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()))
    }
  })
})
