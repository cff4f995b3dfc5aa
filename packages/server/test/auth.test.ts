import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'

let h: Harness
beforeAll(async () => {
  h = await createHarness({ signInAttemptsPerMinute: 5 })
})
afterAll(() => h.close())

const PASSWORD = 'a long enough password'

describe('user access tokens', () => {
  it('are issued by signing in, act as the user, and appear in the audit log as that user', async () => {
    const user = await h.createUser('member', { password: PASSWORD })
    const signIn = await h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email: user.email.toUpperCase(), password: PASSWORD } })
    expect(signIn.status).toBe(200)
    expect(signIn.body.token).toMatch(/^ghu_[a-z2-7]{52}$/)
    expect(signIn.body.prefix).toBe(signIn.body.token.slice(0, 12))
    const ttl = Date.parse(signIn.body.expiresAt) - Date.parse(signIn.body.createdAt)
    expect(Math.abs(ttl - 3600_000)).toBeLessThan(5_000)

    const me = await h.request('GET', '/v1/spaces/default/auth/me', { token: signIn.body.token })
    expect(me.body).toMatchObject({ kind: 'user', subjectId: user.id, role: 'member', display: user.email })

    const signOut = await h.request('POST', '/v1/spaces/default/auth:signOut', { token: signIn.body.token })
    expect(signOut.status).toBe(200)
    const events = await h.request('GET', `/v1/spaces/default/audit?event=token/revoke&actor=${user.id}`, { token: h.adminToken })
    expect(events.body.events).toHaveLength(1)
    expect(events.body.events[0].actor).toMatchObject({ kind: 'user', id: user.id, display: user.email, tokenId: signIn.body.id })
  })

  it('stores only a hash of the secret', async () => {
    const user = await h.createUser('member')
    const { rows } = await h.db.query<Record<string, unknown>>('SELECT * FROM tokens')
    const everything = JSON.stringify(rows)
    expect(everything).not.toContain(user.token)
    expect(everything).toContain(user.token.slice(0, 12))
  })

  it('stop working at their expiry, with a message that says so', async () => {
    const user = await h.createUser('member')
    expect((await h.request('GET', '/v1/spaces/default/auth/me', { token: user.token })).status).toBe(200)
    h.advanceClock(3601_000)
    try {
      const expired = await h.request('GET', '/v1/spaces/default/auth/me', { token: user.token })
      expect(expired.status).toBe(401)
      expect(expired.body.error.code).toBe('token_expired')
      expect(expired.body.error.message).toMatch(/expired at \d{4}-/)
    } finally {
      h.advanceClock(-3601_000)
    }
  })

  it('stop working when revoked, with a message that says so, and revoking twice is harmless', async () => {
    const user = await h.createUser('reviewer')
    const me = await h.request('GET', '/v1/spaces/default/auth/me', { token: user.token })
    const revoked = await h.request('POST', `/v1/spaces/default/tokens/${me.body.tokenId}:revoke`, { token: h.adminToken })
    expect(revoked.status).toBe(200)
    expect(revoked.body.revokedAt).not.toBeNull()
    const refused = await h.request('GET', '/v1/spaces/default/auth/me', { token: user.token })
    expect(refused.status).toBe(401)
    expect(refused.body.error).toMatchObject({ code: 'token_revoked' })
    expect(refused.body.error.message).toContain('revoked at')
    const again = await h.request('POST', `/v1/spaces/default/tokens/${me.body.tokenId}:revoke`, { token: h.adminToken })
    expect(again.status).toBe(200)
    const events = await h.request('GET', `/v1/spaces/default/audit?event=token/revoke&resourceId=${me.body.tokenId}`, { token: h.adminToken })
    expect(events.body.events).toHaveLength(1)
  })

  it('die with their user', async () => {
    const user = await h.createUser('member')
    expect((await h.request('DELETE', `/v1/spaces/default/users/${user.id}`, { token: h.adminToken })).status).toBe(204)
    const refused = await h.request('GET', '/v1/spaces/default/auth/me', { token: user.token })
    expect(refused.status).toBe(401)
  })

  it('follow a change of role at once', async () => {
    const user = await h.createUser('member')
    expect((await h.request('GET', '/v1/spaces/default/tokens', { token: user.token })).status).toBe(403)
    await h.request('PATCH', `/v1/spaces/default/users/${user.id}`, { token: h.adminToken, body: { role: 'admin' } })
    expect((await h.request('GET', '/v1/spaces/default/tokens', { token: user.token })).status).toBe(200)
  })
})

describe('sign-in', () => {
  it('gives the same answer for a wrong password and an unknown email, and audits the failure', async () => {
    const user = await h.createUser('member', { password: PASSWORD })
    const wrong = await h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email: user.email, password: 'not the password' } })
    const unknown = await h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email: 'nobody@example.com', password: PASSWORD } })
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(wrong.body.error.message).toBe(unknown.body.error.message)
    expect(wrong.body.error.code).toBe('invalid_credentials')
    const failures = await h.request('GET', `/v1/spaces/default/audit?event=auth/sign_in_failed&resourceId=${user.id}`, { token: h.adminToken })
    expect(failures.body.events).toHaveLength(1)
  })

  it('is rate-limited per client and space', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 8; i += 1) {
      const response = await h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email: 'x@example.com', password: 'nope' } })
      statuses.push(response.status)
      if (response.status === 429) expect(response.body.error.code).toBe('rate_limited')
    }
    expect(statuses).toContain(429)
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(5)
  })
})

describe('service-account tokens', () => {
  it('are long-lived, scoped, and cannot carry scopes their issuer lacks', async () => {
    const account = await h.request('POST', '/v1/spaces/default/service-accounts', { token: h.adminToken, body: { name: 'auditor', role: 'admin' } })
    expect(account.status).toBe(201)
    const issued = await h.request('POST', `/v1/spaces/default/service-accounts/${account.body.id}/tokens`, {
      token: h.adminToken,
      body: { name: 'read the log', scopes: ['audit:read'] },
    })
    expect(issued.status).toBe(201)
    expect(issued.body.token).toMatch(/^ghs_/)
    expect(issued.body.expiresAt).toBeNull()

    const scoped = issued.body.token
    expect((await h.request('GET', '/v1/spaces/default/audit', { token: scoped })).status).toBe(200)
    const refused = await h.request('POST', '/v1/spaces/default/users', { token: scoped, body: { email: 'a@example.com', name: 'A', role: 'member' } })
    expect(refused.status).toBe(403)
    expect(refused.body.error.message).toContain("scope 'space:admin'")

    // An admin user's token holds '*' but not instance:admin, so it cannot hand that out.
    const adminUser = await h.createUser('admin')
    const escalate = await h.request('POST', `/v1/spaces/default/service-accounts/${account.body.id}/tokens`, {
      token: adminUser.token,
      body: { name: 'escalate', scopes: ['instance:admin'] },
    })
    expect(escalate.status).toBe(403)
    expect((await h.request('POST', '/v1/spaces', { token: adminUser.token, body: { id: 'sneaky' } })).status).toBe(403)
  })

  it('are listed without their secrets', async () => {
    const list = await h.request('GET', '/v1/spaces/default/tokens?limit=200', { token: h.adminToken })
    expect(list.status).toBe(200)
    expect(list.body.tokens.length).toBeGreaterThan(1)
    for (const token of list.body.tokens) expect(token).not.toHaveProperty('token')
  })
})

describe('spaces', () => {
  it('a new space comes with its own admin token that works only there', async () => {
    const created = await h.request('POST', '/v1/spaces', { token: h.adminToken, body: { id: 'acme', displayName: 'Acme' } })
    expect(created.status).toBe(201)
    const acmeAdmin = created.body.adminToken.token
    expect((await h.request('GET', '/v1/spaces/acme/users', { token: acmeAdmin })).status).toBe(200)
    expect((await h.request('GET', '/v1/spaces/default/users', { token: acmeAdmin })).status).toBe(404)
    expect((await h.request('POST', '/v1/spaces', { token: h.adminToken, body: { id: 'acme' } })).status).toBe(409)
    const bad = await h.request('POST', '/v1/spaces', { token: h.adminToken, body: { id: 'Not A Slug' } })
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toMatch(/^body\.id: /)
  })
})
