import { afterAll, beforeAll, expect, it } from 'vitest'
import { listeningHarness } from '../../packages/sdk/test/listen.js'
import { CookieJar, hop, loginAtIdp } from '../../packages/server/test/sso-helpers.js'
// @ts-expect-error plain JavaScript example, no types
import { startIdp } from '../sso/idp.js'

let h: Awaited<ReturnType<typeof listeningHarness>>
let idp: { issuer: string; clientId: string; clientSecret: string; close(): Promise<void> }

beforeAll(async () => {
  h = await listeningHarness()
  idp = await startIdp({ port: 0, gatehouseUrl: h.url })
})
afterAll(async () => {
  await h?.close()
  await idp?.close()
})

it('the docs walk: examples/sso/idp.js as the provider of the default space signs alice in with her groups', async () => {
  const leads = await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: { name: 'leads' } })
  const created = await h.request('POST', '/v1/spaces/default/sso/providers', {
    token: h.adminToken,
    body: { id: 'oidc', displayName: 'Example IdP', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, roleClaim: 'groups', roleMap: { 'gatehouse-reviewers': 'reviewer' } },
  })
  expect(created.status, created.text).toBe(201)
  const jar = new CookieJar()
  const callback = await hop(jar, await loginAtIdp(jar, `${h.url}/v1/spaces/default/sso/oidc/start`, idp.issuer, 'alice'))
  expect(callback.status, callback.body).toBe(302)
  const token = jar.get(h.url, 'gatehouse_session')!
  const me = await h.request('GET', '/v1/spaces/default/auth/me', { token })
  expect(me.body).toMatchObject({ display: 'alice@example.com', role: 'reviewer' })
  const user = await h.request('GET', `/v1/spaces/default/users/${me.body.subjectId}`, { token: h.adminToken })
  expect(user.body.groups).toEqual([leads.body.id])

  const mallory = new CookieJar()
  const denied = await hop(mallory, await loginAtIdp(mallory, `${h.url}/v1/spaces/default/sso/oidc/start`, idp.issuer, 'mallory'))
  expect(JSON.parse(denied.body).error.details.reason).toBe('email_unverified')
})
