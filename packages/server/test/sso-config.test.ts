import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, readConfig } from '../src/config.js'
import { createHarness, type Harness } from './harness.js'
import { CookieJar, hop, loginAtIdp, startTestIdp } from './sso-helpers.js'

describe('GATEHOUSE_OIDC_* and GATEHOUSE_PUBLIC_URL', () => {
  it('reads a provider from configuration, and refuses half a configuration', () => {
    expect(readConfig({}).oidc).toBeNull()
    expect(readConfig({ GATEHOUSE_OIDC_ISSUER: 'https://login.example.com', GATEHOUSE_OIDC_CLIENT_ID: 'gh', GATEHOUSE_OIDC_CLIENT_SECRET: 's3' }).oidc).toEqual({
      providerId: 'oidc',
      displayName: 'Single sign-on',
      issuer: 'https://login.example.com',
      clientId: 'gh',
      clientSecret: 's3',
    })
    expect(() => readConfig({ GATEHOUSE_OIDC_ISSUER: 'https://login.example.com' })).toThrow(/GATEHOUSE_OIDC_CLIENT_ID/)
    expect(() => readConfig({ GATEHOUSE_OIDC_ISSUER: 'not a url', GATEHOUSE_OIDC_CLIENT_ID: 'gh' })).toThrow(ConfigError)
    expect(() => readConfig({ GATEHOUSE_OIDC_ISSUER: 'https://x', GATEHOUSE_OIDC_CLIENT_ID: 'gh', GATEHOUSE_OIDC_PROVIDER_ID: 'Bad Id' })).toThrow(/slug/)
    expect(readConfig({ GATEHOUSE_PUBLIC_URL: 'https://gatehouse.example.com/' }).publicUrl).toBe('https://gatehouse.example.com')
    expect(() => readConfig({ GATEHOUSE_PUBLIC_URL: 'ftp://x' })).toThrow(ConfigError)
  })
})

describe('the configured provider', () => {
  let h: Harness
  let idp: Awaited<ReturnType<typeof startTestIdp>>
  let base: string

  beforeAll(async () => {
    // The IdP's client must know the callback, which needs the server's port: a placeholder issuer
    // first, then the real one once both are listening.
    h = await createHarness({ ssoFromConfig: { providerId: 'corp', displayName: 'Corp', issuer: 'http://127.0.0.1:1', clientId: 'gatehouse', clientSecret: 'from-config' } })
    await h.built.app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(h.built.app.server.address() as AddressInfo).port}`
    idp = await startTestIdp({ redirectUris: [`${base}/v1/spaces/default/sso/corp/callback`], users: { ada: { email: 'ada@example.com', email_verified: true } }, clientSecret: 'from-config' })
  })

  afterAll(async () => {
    await h?.close()
    await idp?.close()
  })

  it('is created in the default space without storing the secret, and signs in with the secret from configuration', async () => {
    const cfg = { providerId: 'corp', displayName: 'Corp', issuer: idp.issuer, clientId: 'gatehouse', clientSecret: 'from-config' }
    expect(await h.built.services.sso.ensureConfiguredProvider(cfg)).toBe('created')
    expect(await h.built.services.sso.ensureConfiguredProvider(cfg)).toBe('current')
    const provider = await h.request('GET', '/v1/spaces/default/sso/providers/corp', { token: h.adminToken })
    expect(provider.body).toMatchObject({ issuer: idp.issuer, clientId: 'gatehouse', hasClientSecret: false })
    const { rows } = await h.db.query<{ client_secret: string | null }>("SELECT client_secret FROM sso_providers WHERE id = 'corp'")
    expect(rows[0]?.client_secret).toBeNull()

    const jar = new CookieJar()
    const callback = await hop(jar, await loginAtIdp(jar, `${base}/v1/spaces/default/sso/corp/start`, idp.issuer, 'ada'))
    expect(callback.status, callback.body).toBe(302)
    expect(callback.setCookies.some((c) => c.startsWith('gatehouse_session=ghu_'))).toBe(true)
  })

  it('an issuer the outbound policy refuses stops the start with the reason', async () => {
    await expect(h.built.services.sso.ensureConfiguredProvider({ providerId: 'x', displayName: 'X', issuer: 'http://10.1.2.3', clientId: 'c', clientSecret: null })).rejects.toThrow(/issuer/)
  })
})

describe('calls to the provider go through the outbound policy', () => {
  let h: Harness
  let idp: Awaited<ReturnType<typeof startTestIdp>>

  beforeAll(async () => {
    h = await createHarness({ outboundAllow: [] })
    idp = await startTestIdp({ redirectUris: ['http://127.0.0.1:1/cb'], users: {} })
  })

  afterAll(async () => {
    await h?.close()
    await idp?.close()
  })

  it('a loopback issuer is refused when saved, and a stored one is not reached at sign-in', async () => {
    const body = { id: 'corp', displayName: 'Corp', issuer: idp.issuer, clientId: 'gatehouse' }
    const saved = await h.request('POST', '/v1/spaces/default/sso/providers', { token: h.adminToken, body })
    expect(saved.status).toBe(400)
    expect(saved.body.error.message).toMatch(/^issuer /)
    // Stored behind the API's back (as if the policy had been narrowed since): discovery is refused at connect time.
    await h.db.query(`INSERT INTO sso_providers (space_id, id, display_name, issuer, client_id, scopes) VALUES ('default', 'corp', 'Corp', $1, 'gatehouse', '["openid"]'::jsonb)`, [idp.issuer])
    const started = await h.request('GET', '/v1/spaces/default/sso/corp/start')
    expect(started.status).toBe(503)
    expect(started.body.error.message).toContain('idp_unreachable')
    expect(started.headers.location).toBeUndefined()
  })
})
