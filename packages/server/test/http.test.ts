import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { migrate } from '../src/db/migrate.js'
import { createLogger } from '../src/logger.js'
import { createHarness, openTestDb, testKms, testSigner, type Harness } from './harness.js'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

describe('errors', () => {
  it('share one envelope with a stable code, a message and the request id', async () => {
    const response = await h.request('GET', '/v1/spaces/default/users/usr_missing', { token: h.adminToken })
    expect(response.status).toBe(404)
    expect(response.body).toEqual({ error: { code: 'not_found', message: "user 'usr_missing' not found", requestId: expect.stringMatching(/^req_/) } })
    expect(response.headers['x-request-id']).toBe(response.body.error.requestId)
    const noRoute = await h.request('GET', '/v2/nothing')
    expect(noRoute.body.error).toMatchObject({ code: 'not_found', message: 'no route GET /v2/nothing' })
  })

  it('name the path of what failed validation', async () => {
    const response = await h.request('POST', '/v1/spaces/default/users', {
      token: h.adminToken,
      body: { email: 'not-an-email', name: 'N', role: 'member' },
    })
    expect(response.status).toBe(400)
    expect(response.body.error.code).toBe('validation_failed')
    expect(response.body.error.message).toBe('body.email: must match format "email"')
    const missing = await h.request('POST', '/v1/spaces/default/users', { token: h.adminToken, body: { name: 'N', role: 'member' } })
    expect(missing.body.error.message).toMatch(/^body\.email: /)
    const unknown = await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: { name: 'g', colour: 'red' } })
    expect(unknown.body.error.message).toBe('body.colour: is not a known property')
    const tooLong = await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: { name: 'g'.repeat(201) } })
    expect(tooLong.body.error.message).toMatch(/^body\.name: must NOT have more than 200 characters/)
    const page = await h.request('GET', '/v1/spaces/default/users?limit=100000', { token: h.adminToken })
    expect(page.body.error.message).toMatch(/^querystring\.limit: /)
  })

  it('refuse a body over the limit and a body that is not JSON', async () => {
    const big = await h.request('POST', '/v1/spaces/default/groups', {
      token: h.adminToken,
      body: JSON.stringify({ name: 'g', description: 'x'.repeat(2 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    })
    expect(big.status).toBe(413)
    expect(big.body.error.code).toBe('payload_too_large')
    const broken = await h.request('POST', '/v1/spaces/default/groups', {
      token: h.adminToken,
      body: '{"name":',
      headers: { 'content-type': 'application/json' },
    })
    expect(broken.status).toBe(400)
    expect(broken.body.error.code).toBe('bad_request')
    const text = await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: 'name=g', headers: { 'content-type': 'text/csv' } })
    expect(text.status).toBe(415)
    const plain = await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: '{"name":"g"}', headers: { 'content-type': 'text/plain' } })
    expect(plain.status).toBe(415)
    expect(plain.body.error.message).toBe('send the body as application/json (content-type: application/json)')
  })

  it('never show a database row as it is: responses carry only their declared fields', async () => {
    const user = await h.createUser('member', { password: 'a long enough password' })
    const response = await h.request('GET', `/v1/spaces/default/users/${user.id}`, { token: h.adminToken })
    expect(Object.keys(response.body).sort()).toEqual(['createdAt', 'disabledAt', 'email', 'groups', 'hasPassword', 'id', 'name', 'role', 'updatedAt'])
    expect(response.text).not.toContain('scrypt')
  })
})

describe('documentation and health', () => {
  it('serves an OpenAPI document generated from the route schemas', async () => {
    const response = await h.request('GET', '/openapi.json')
    expect(response.status).toBe(200)
    expect(response.body.openapi).toBe('3.1.0')
    const revoke = response.body.paths['/v1/spaces/{space}/tokens/{tokenId}:revoke']
    expect(revoke.post.operationId).toBe('revokeToken')
    expect(revoke.post.security).toEqual([{ bearerAuth: [] }])
    expect(response.body.paths['/v1/spaces/{space}/auth:signIn'].post.security).toBeUndefined()
    const created = response.body.paths['/v1/spaces/{space}/users'].post
    expect(created.requestBody.content['application/json'].schema.properties.email.format).toBe('email')
    const operations = Object.values(response.body.paths).flatMap((path: any) => Object.values(path).map((op: any) => op.operationId))
    expect(new Set(operations).size).toBe(operations.length)
    expect((await h.request('GET', '/docs/')).status).toBe(200)
  })

  it('answers health and readiness', async () => {
    expect((await h.request('GET', '/healthz')).body).toEqual({ status: 'ok' })
    const ready = await h.request('GET', '/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body.store).toBe(h.db.kind)
    h.built.lifecycle.draining = true
    try {
      expect((await h.request('GET', '/readyz')).status).toBe(503)
    } finally {
      h.built.lifecycle.draining = false
    }
  })
})

describe('logs', () => {
  it('never contain tokens, Authorization or x-client-auth headers', async () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString())
        done()
      },
    })
    const testDb = await openTestDb()
    const built = await buildApp({ db: testDb.db, signer: testSigner(), kms: testKms(), logger: createLogger('info', sink) })
    try {
      const { result } = await migrate(testDb.db, (conn) => built.services.spaces.bootstrapIfEmpty(conn))
      const token = result!.adminToken.token
      await built.app.inject({
        method: 'GET',
        url: '/v1/spaces/default/auth/me',
        headers: { authorization: `Bearer ${token}`, 'x-client-auth': 'Bearer client-secret-value', 'user-agent': 'log-probe' },
      })
      await built.app.inject({
        method: 'POST',
        url: '/v1/spaces/default/auth:signIn',
        payload: { email: 'a@example.com', password: 'password-in-body' },
      })
      built.app.log.info({ token, password: 'hunter2hunter2' }, 'a careless log line')
      const text = lines.join('')
      expect(text).toContain('log-probe') // headers are logged…
      expect(text).toContain('[redacted]') // …with the secret ones censored
      for (const secret of [token, 'client-secret-value', 'password-in-body', 'hunter2hunter2']) expect(text).not.toContain(secret)
    } finally {
      await built.app.close()
      await testDb.drop()
    }
  })
})
