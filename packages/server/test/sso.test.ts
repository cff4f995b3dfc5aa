import { createHmac } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { signInWithSso } from '@gatehouse/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'
import { CookieJar, follow, hop, loginAtIdp, startForgingIdp, startTestIdp, type IdpUser } from './sso-helpers.js'

let h: Harness
let base: string
let idp: Awaited<ReturnType<typeof startTestIdp>>
let forging: Awaited<ReturnType<typeof startForgingIdp>>
const groups: Record<string, string> = {}

const users: Record<string, IdpUser> = {
  alice: { email: 'Alice@Example.com', email_verified: true, name: 'Alice Liddell', groups: ['leads-a', 'gatehouse-reviewers', 'not-in-gatehouse'] },
  bob: { email: 'bob@example.com', email_verified: false, name: 'Bob' },
  carol: { email: 'carol@example.com', email_verified: true, name: 'Carol' },
  dave: { email: 'dave@example.com', email_verified: true, name: 'Dave' },
  erin: { email: 'erin@example.com', email_verified: true, name: 'Erin' },
}

const providerBody = (id: string, issuer: string, extra: Record<string, unknown> = {}) => ({
  id,
  displayName: `Corp ${id}`,
  issuer,
  clientId: 'gatehouse',
  clientSecret: 'gatehouse-secret',
  scopes: ['openid', 'email', 'profile', 'groups'],
  roleClaim: 'groups',
  roleMap: { 'gatehouse-reviewers': 'reviewer' },
  ...extra,
})

async function addProvider(id: string, issuer: string, extra: Record<string, unknown> = {}) {
  const created = await h.request('POST', '/v1/spaces/default/sso/providers', { token: h.adminToken, body: providerBody(id, issuer, extra) })
  expect(created.status, created.text).toBe(201)
  return created.body
}

const startUrl = (provider: string, returnTo = '/console/') => `${base}/v1/spaces/default/sso/${provider}/start?returnTo=${encodeURIComponent(returnTo)}`

/** The latest audit events of a kind, newest first. */
async function events(event: string) {
  const answer = await h.request('GET', `/v1/spaces/default/audit?event=${event}&limit=200`, { token: h.adminToken })
  expect(answer.status).toBe(200)
  return (answer.body.events as Array<{ seq: number; meta: Record<string, any>; resources: Array<{ kind: string; id: string }>; actor: { id: string } }>).sort((a, b) => b.seq - a.seq)
}

/** Expects the callback to be refused with `reason`, and the refusal to be the newest sso/sign_in_failed event. */
async function expectRefused(callback: { status: number; body: string }, reason: string, provider: string) {
  expect(callback.status, callback.body).toBe(401)
  const error = JSON.parse(callback.body).error
  expect(error.code).toBe('sso_failed')
  expect(error.details.reason).toBe(reason)
  const [latest] = await events('sso/sign_in_failed')
  expect(latest?.meta).toMatchObject({ provider, reason })
}

async function signIn(login: string, provider = 'corp', returnTo = '/console/') {
  const jar = new CookieJar()
  const callbackUrl = await loginAtIdp(jar, startUrl(provider, returnTo), idp.issuer, login)
  const callback = await hop(jar, callbackUrl)
  return { jar, callbackUrl, callback }
}

async function whoAmI(token: string) {
  const me = await h.request('GET', '/v1/spaces/default/auth/me', { token })
  expect(me.status, me.text).toBe(200)
  return me.body
}

beforeAll(async () => {
  h = await createHarness()
  await h.built.app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(h.built.app.server.address() as AddressInfo).port}`
  const callbacks = ['corp', 'gone', 'linking', 'lax'].map((id) => `${base}/v1/spaces/default/sso/${id}/callback`)
  idp = await startTestIdp({ redirectUris: callbacks, users })
  forging = await startForgingIdp()
  for (const name of ['leads-a', 'leads-b', 'gatehouse-reviewers']) {
    groups[name] = (await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: { name } })).body.id
  }
  await addProvider('corp', idp.issuer)
  await addProvider('forge', forging.issuer, { roleClaim: null })
})

afterAll(async () => {
  await h?.close()
  await idp?.close()
  await forging?.close()
})

describe('provider configuration', () => {
  it('is admin only, never answers the client secret, and lists enabled providers publicly without secrets', async () => {
    const member = await h.createUser('member')
    expect((await h.request('GET', '/v1/spaces/default/sso/providers', { token: member.token })).status).toBe(403)
    const listed = await h.request('GET', '/v1/spaces/default/sso/providers', { token: h.adminToken })
    expect(listed.status).toBe(200)
    expect(listed.body.providers.find((p: { id: string }) => p.id === 'corp')).toMatchObject({ hasClientSecret: true, issuer: idp.issuer, groupsClaim: 'groups' })
    expect(listed.text).not.toContain('gatehouse-secret')
    const audit = await events('sso/provider_create')
    expect(JSON.stringify(audit)).not.toContain('gatehouse-secret')

    await addProvider('hidden', idp.issuer, { enabled: false })
    const options = await h.request('GET', '/v1/spaces/default/sso/sign-in-options')
    expect(options.status).toBe(200)
    expect(options.body.providers).toEqual(expect.arrayContaining([{ id: 'corp', displayName: 'Corp corp' }]))
    expect(options.body.providers.map((p: { id: string }) => p.id)).not.toContain('hidden')
    expect(options.text).not.toContain('gatehouse-secret')
    expect(options.text).not.toContain('clientId')
  })

  it('creating or changing a provider needs an admin token with every scope: a provider can sign in as anyone', async () => {
    const account = await h.request('POST', '/v1/spaces/default/service-accounts', { token: h.adminToken, body: { name: 'space-admin-only', role: 'admin' } })
    const narrow = (await h.request('POST', `/v1/spaces/default/service-accounts/${account.body.id}/tokens`, { token: h.adminToken, body: { name: 'narrow', scopes: ['space:admin'] } })).body.token
    const created = await h.request('POST', '/v1/spaces/default/sso/providers', { token: narrow, body: providerBody('sneaky', idp.issuer, { roleMap: { x: 'admin' } }) })
    expect(created.status).toBe(403)
    expect(created.body.error.message).toContain('can sign in as any user')
    const changed = await h.request('PATCH', '/v1/spaces/default/sso/providers/corp', { token: narrow, body: { issuer: forging.issuer } })
    expect(changed.status).toBe(403)
    expect((await h.request('GET', '/v1/spaces/default/sso/providers/corp', { token: narrow })).body.issuer).toBe(idp.issuer)
  })

  it('refuses an issuer that is not https (except loopback) and one without openid in the scopes', async () => {
    const http = await h.request('POST', '/v1/spaces/default/sso/providers', { token: h.adminToken, body: providerBody('plain', 'http://idp.example.com') })
    expect(http.status).toBe(400)
    expect(http.body.error.message).toContain('https')
    const noOpenid = await h.request('POST', '/v1/spaces/default/sso/providers', { token: h.adminToken, body: providerBody('noopenid', idp.issuer, { scopes: ['email'] }) })
    expect(noOpenid.status).toBe(400)
    expect(noOpenid.body.error.message).toContain('openid')
  })
})

describe('console sign-in with the real provider', () => {
  let aliceId: string

  it('first sign-in creates the user with the mapped role and groups, sets the session cookie and redirects to returnTo', async () => {
    const { callback } = await signIn('alice', 'corp', '/console/petitions?tab=open')
    expect(callback.status, callback.body).toBe(302)
    expect(callback.location).toBe(`${base}/console/petitions?tab=open`)
    const session = callback.setCookies.find((c) => c.startsWith('gatehouse_session='))!
    expect(session).toMatch(/^gatehouse_session=ghu_[a-z2-7]+;/)
    // Attributes in any order: Path=/, SameSite=Lax, HttpOnly (Secure only over HTTPS).
    const attributes = session.split(';').slice(1).map((part) => part.trim())
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'SameSite=Lax', 'HttpOnly']))
    expect(attributes).not.toContain('Secure')
    const token = session.split(';')[0]!.split('=')[1]!
    const csrf = callback.setCookies.find((c) => c.startsWith('gatehouse_csrf='))!
    expect(csrf).not.toContain('HttpOnly')
    expect(csrf.split(';')[0]!.split('=')[1]).toBe(createHmac('sha256', token).update('gatehouse-csrf').digest('base64url'))

    const me = await whoAmI(token)
    expect(me).toMatchObject({ kind: 'user', display: 'alice@example.com', role: 'reviewer' })
    aliceId = me.subjectId
    const user = (await h.request('GET', `/v1/spaces/default/users/${aliceId}`, { token: h.adminToken })).body
    expect(user).toMatchObject({ email: 'alice@example.com', name: 'Alice Liddell', role: 'reviewer', hasPassword: false })
    expect(user.groups.sort()).toEqual([groups['gatehouse-reviewers'], groups['leads-a']].sort())

    const [created] = await events('user/create')
    expect(created?.meta).toMatchObject({ email: 'alice@example.com', role: 'reviewer', via: 'sso', provider: 'corp', subject: 'alice' })
    const [signedIn] = await events('sso/sign_in')
    expect(signedIn?.meta).toMatchObject({ provider: 'corp', subject: 'alice', created: true })
    const added = (await events('group/member_add')).filter((e) => e.resources.some((r) => r.id === aliceId))
    expect(added.map((e) => e.resources[0]!.id).sort()).toEqual([groups['gatehouse-reviewers'], groups['leads-a']].sort())
    expect((await events('sso/groups_unmatched'))[0]?.meta.groups).toEqual(['not-in-gatehouse'])
  })

  it('a second sign-in with changed groups matches the same user by sub and moves the memberships, audited', async () => {
    users.alice!.groups = ['leads-b', 'gatehouse-reviewers']
    users.alice!.email = 'alice.liddell@example.com' // matched by (provider, sub), not by email
    const { callback } = await signIn('alice')
    expect(callback.status, callback.body).toBe(302)
    const token = callback.setCookies.find((c) => c.startsWith('gatehouse_session='))!.split(';')[0]!.split('=')[1]!
    expect((await whoAmI(token)).subjectId).toBe(aliceId)
    const user = (await h.request('GET', `/v1/spaces/default/users/${aliceId}`, { token: h.adminToken })).body
    expect(user.groups.sort()).toEqual([groups['gatehouse-reviewers'], groups['leads-b']].sort())
    const [removed] = (await events('group/member_remove')).filter((e) => e.resources.some((r) => r.id === aliceId))
    expect(removed?.resources).toEqual([{ kind: 'group', id: groups['leads-a'] }, { kind: 'user', id: aliceId }])
    expect(removed?.meta).toMatchObject({ via: 'sso', provider: 'corp' })
  })

  it('a policy routing by group sends the next petition to the new group reviewers', async () => {
    await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources: [{ kind: 'customer', id: 'c_sso', displayName: 'SSO Inc', labels: { tier: 'sso' } }] } })
    const policy = await h.request('POST', '/v1/spaces/default/policies', {
      token: h.adminToken,
      body: { name: 'leads-b review', priority: 1, match: { labels: { tier: 'sso' } }, decision: { type: 'review', reviewers: { groups: [groups['leads-b']] } } },
    })
    expect(policy.status, policy.text).toBe(201)
    const staff = await h.createUser('member')
    const asked = await h.request('POST', '/v1/spaces/default/approvals', {
      token: h.adminToken,
      body: { petitioners: [{ kind: 'user', id: staff.id, email: staff.email }], resources: [{ kind: 'customer', id: 'c_sso' }] },
    })
    const petitionId = asked.body.petition.id
    const { callback } = await signIn('alice')
    const token = callback.setCookies.find((c) => c.startsWith('gatehouse_session='))!.split(';')[0]!.split('=')[1]!
    const review = await h.request('POST', `/v1/spaces/default/petitions/${petitionId}:review`, { token, body: { decision: 'approve' } })
    expect(review.status, review.text).toBe(200)
    expect(review.body.state).toBe('granted')

    // And back: once the IdP moves her out of leads-b, the next petition is no longer hers to review.
    users.alice!.groups = ['leads-a', 'gatehouse-reviewers']
    const again = await signIn('alice')
    const newToken = again.callback.setCookies.find((c) => c.startsWith('gatehouse_session='))!.split(';')[0]!.split('=')[1]!
    await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources: [{ kind: 'customer', id: 'c_sso2', displayName: 'SSO 2', labels: { tier: 'sso' } }] } })
    const next = await h.request('POST', '/v1/spaces/default/approvals', {
      token: h.adminToken,
      body: { petitioners: [{ kind: 'user', id: staff.id, email: staff.email }], resources: [{ kind: 'customer', id: 'c_sso2' }] },
    })
    const refused = await h.request('POST', `/v1/spaces/default/petitions/${next.body.petition.id}:review`, { token: newToken, body: { decision: 'approve' } })
    expect(refused.status).toBe(403)
  })

  it('a user deactivated in Gatehouse cannot sign in through SSO', async () => {
    const first = await signIn('erin')
    expect(first.callback.status).toBe(302)
    const token = first.callback.setCookies.find((c) => c.startsWith('gatehouse_session='))!.split(';')[0]!.split('=')[1]!
    const erin = await whoAmI(token)
    expect((await h.request('POST', `/v1/spaces/default/users/${erin.subjectId}:deactivate`, { token: h.adminToken })).status).toBe(200)
    const again = await signIn('erin')
    await expectRefused(again.callback, 'user_disabled', 'corp')
  })
})

describe('refusals with the real provider', () => {
  it('wrong state: a callback whose state is not the one this browser started with', async () => {
    const jar = new CookieJar()
    const callbackUrl = new URL(await loginAtIdp(jar, startUrl('corp'), idp.issuer, 'carol'))
    callbackUrl.searchParams.set('state', 'forged-state-value')
    await expectRefused(await hop(jar, callbackUrl.toString()), 'bad_state', 'corp')
  })

  it('wrong state: a genuine callback URL carried to another browser (login CSRF)', async () => {
    const jar = new CookieJar()
    const callbackUrl = await loginAtIdp(jar, startUrl('corp'), idp.issuer, 'carol')
    await expectRefused(await hop(new CookieJar(), callbackUrl), 'bad_state', 'corp')
  })

  it('replayed code: the same callback a second time is refused', async () => {
    const { jar, callbackUrl, callback } = await signIn('carol')
    expect(callback.status, callback.body).toBe(302)
    await expectRefused(await hop(jar, callbackUrl), 'replayed', 'corp')
  })

  it('unverified email', async () => {
    const { callback } = await signIn('bob')
    await expectRefused(callback, 'email_unverified', 'corp')
    const [refusal] = await events('sso/sign_in_failed')
    expect(refusal?.meta.email).toBe('bob@example.com')
  })

  it('unverified email is accepted when the admin turns the requirement off for a provider', async () => {
    await addProvider('lax', idp.issuer, { requireVerifiedEmail: false })
    const { callback } = await signIn('bob', 'lax')
    expect(callback.status, callback.body).toBe(302)
  })

  it('a provider deleted mid-flow', async () => {
    await addProvider('gone', idp.issuer)
    const jar = new CookieJar()
    const callbackUrl = await loginAtIdp(jar, startUrl('gone'), idp.issuer, 'carol')
    expect((await h.request('DELETE', '/v1/spaces/default/sso/providers/gone', { token: h.adminToken })).status).toBe(204)
    await expectRefused(await hop(jar, callbackUrl), 'unknown_provider', 'gone')
  })

  it('an open redirect in the return URL is refused before anything starts', async () => {
    for (const returnTo of ['https://evil.example/console/', '//evil.example/console/', '/\\evil.example', '/console/../admin', 'javascript:alert(1)']) {
      const started = await hop(new CookieJar(), startUrl('corp', returnTo))
      expect(started.status, returnTo).toBe(400)
      expect(started.location).toBeNull()
      expect(JSON.parse(started.body).error.details.reason).toBe('bad_return_to')
      const [refusal] = await events('sso/sign_in_failed')
      expect(refusal?.meta).toMatchObject({ reason: 'bad_return_to', returnTo })
    }
  })

  it('an existing password user with the same email is refused unless the provider may link, then linked', async () => {
    const existing = await h.createUser('member', { email: 'dave@example.com', password: 'correct horse battery' })
    await expectRefused((await signIn('dave')).callback, 'email_taken', 'corp')
    await addProvider('linking', idp.issuer, { linkExistingUsers: true })
    const { callback } = await signIn('dave', 'linking')
    expect(callback.status, callback.body).toBe(302)
    const token = callback.setCookies.find((c) => c.startsWith('gatehouse_session='))!.split(';')[0]!.split('=')[1]!
    expect((await whoAmI(token)).subjectId).toBe(existing.id)
    expect((await events('sso/identity_link'))[0]?.meta).toMatchObject({ provider: 'linking', subject: 'dave' })
  })
})

describe('refusals of forged ID tokens', () => {
  async function forgedCallback() {
    const jar = new CookieJar()
    const hops = await follow(jar, startUrl('forge'), (url) => url.startsWith(`${base}/v1/spaces/default/sso/forge/callback`))
    return hop(jar, hops[hops.length - 1]!.url)
  }

  it('control: the forging provider signs in with an honest token (so each refusal below is caused by its one defect)', async () => {
    forging.setForge(forging.withClaims((claims) => claims))
    const callback = await forgedCallback()
    expect(callback.status, callback.body).toBe(302)
  })

  const cases: Array<[string, string, () => ReturnType<typeof forging.withClaims>]> = [
    ['wrong issuer', 'bad_issuer', () => forging.withClaims((c) => ({ ...c, iss: 'https://evil.example' }))],
    ['wrong audience', 'bad_audience', () => forging.withClaims((c) => ({ ...c, aud: 'someone-else' }))],
    ['wrong nonce', 'bad_nonce', () => forging.withClaims((c) => ({ ...c, nonce: 'not-the-nonce' }))],
    ['expired ID token', 'token_expired', () => forging.withClaims((c) => ({ ...c, iat: (c.iat as number) - 7200, exp: (c.iat as number) - 3600 }))],
    ['a key not in the JWKS', 'bad_signature', () => forging.signedByForeignKey('unknown-kid')],
    ['a foreign key posing as the trusted kid', 'bad_signature', () => forging.signedByForeignKey('trusted')],
    ['alg: none', 'unsigned_token', () => forging.unsigned()],
  ]
  for (const [name, reason, forge] of cases) {
    it(`${name} is refused as ${reason}`, async () => {
      forging.setForge(forge())
      await expectRefused(await forgedCallback(), reason, 'forge')
    })
  }
})

describe('password sign-in switch', () => {
  it('turned off, password sign-in answers an error naming SSO; it cannot be turned off with no enabled provider', async () => {
    const password = 'correct horse battery'
    const user = await h.createUser('member', { password })
    const signInBody = { email: user.email, password }
    expect((await h.request('POST', '/v1/spaces/default/auth:signIn', { body: signInBody })).status).toBe(200)
    const off = await h.request('PUT', '/v1/spaces/default/sso/settings', { token: h.adminToken, body: { passwordSignIn: false } })
    expect(off.status, off.text).toBe(200)
    const refused = await h.request('POST', '/v1/spaces/default/auth:signIn', { body: signInBody })
    expect(refused.status).toBe(403)
    expect(refused.body.error.code).toBe('password_sign_in_disabled')
    expect(refused.body.error.message).toContain('single sign-on')
    expect((await h.request('GET', '/v1/spaces/default/sso/sign-in-options')).body.passwordSignIn).toBe(false)
    expect((await events('sso/settings_update'))[0]?.meta).toEqual({ passwordSignIn: false })
    await h.request('PUT', '/v1/spaces/default/sso/settings', { token: h.adminToken, body: { passwordSignIn: true } })
    expect((await h.request('POST', '/v1/spaces/default/auth:signIn', { body: signInBody })).status).toBe(200)

    const other = await h.createSpace('nosso')
    const locked = await h.request('PUT', '/v1/spaces/nosso/sso/settings', { token: other, body: { passwordSignIn: false } })
    expect(locked.status).toBe(409)
  })
})

describe('CLI loopback sign-in', () => {
  it('the SDK helper yields a working ghu_ token; the one-time code cannot be used twice', async () => {
    let loopbackUrl = ''
    const issued = await signInWithSso({
      baseUrl: base,
      provider: 'corp',
      // Plays the browser: the IdP login, then the redirect back to Gatehouse and on to the loopback.
      openBrowser: async (url) => {
        const jar = new CookieJar()
        const callbackUrl = await loginAtIdp(jar, url, idp.issuer, 'carol')
        const callback = await hop(jar, callbackUrl)
        expect(callback.status, callback.body).toBe(302)
        loopbackUrl = callback.location!
        expect(loopbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/)
        await hop(jar, loopbackUrl)
      },
    })
    expect(issued.token).toMatch(/^ghu_/)
    expect((await whoAmI(issued.token)).display).toBe('carol@example.com')
    const [signIn] = await events('auth/sign_in')
    expect(signIn?.meta).toMatchObject({ method: 'sso_cli', provider: 'corp' })

    const code = new URL(loopbackUrl).searchParams.get('code')!
    const replay = await h.request('POST', '/v1/spaces/default/sso/token', {
      body: { code, code_verifier: 'a'.repeat(43), redirect_uri: loopbackUrl.split('?')[0] },
    })
    expect(replay.status).toBe(401)
    expect(replay.body.error.details.reason).toBe('invalid_code')
  })

  it('a code presented with the wrong verifier is refused and spent', async () => {
    let code = ''
    let redirectUri = ''
    await expect(
      signInWithSso({
        baseUrl: base,
        provider: 'corp',
        timeoutMs: 30_000,
        // A thief of the loopback URL: tries the code with a guessed verifier before the CLI can.
        openBrowser: async (url) => {
          const jar = new CookieJar()
          const callback = await hop(jar, await loginAtIdp(jar, url, idp.issuer, 'carol'))
          const loopback = new URL(callback.location!)
          code = loopback.searchParams.get('code')!
          redirectUri = `${loopback.origin}${loopback.pathname}`
          const stolen = await h.request('POST', '/v1/spaces/default/sso/token', { body: { code, code_verifier: 'b'.repeat(43), redirect_uri: redirectUri } })
          expect(stolen.status).toBe(401)
          expect(stolen.body.error.message).toContain('code_verifier')
          await hop(jar, loopback.toString())
        },
      }),
    ).rejects.toThrow(/already used/)
  })

  it('refuses a cli_redirect that is not loopback', async () => {
    const started = await hop(new CookieJar(), `${base}/v1/spaces/default/sso/corp/start?cli_redirect=${encodeURIComponent('http://evil.example/cb')}&code_challenge=${'a'.repeat(43)}`)
    expect(started.status).toBe(400)
    expect(JSON.parse(started.body).error.message).toContain('loopback')
  })
})
