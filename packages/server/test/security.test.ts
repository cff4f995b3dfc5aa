import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'

/**
 * Driven by the route table the app itself records: a route added later is covered here without
 * anyone remembering to add it.
 */
let h: Harness
let otherSpaceAdmin: string
let member: string

beforeAll(async () => {
  h = await createHarness()
  otherSpaceAdmin = await h.createSpace('other')
  member = (await h.createUser('member')).token
})
afterAll(() => h.close())

const fill = (url: string) => url.replaceAll('::', '\u0000').replace(/:space/g, 'default').replace(/:[A-Za-z]+(\([^)]*\))?/g, 'x_1').replaceAll('\u0000', ':')

describe('route table', () => {
  it('every /v1 route declares its access, and only the expected ones are public', () => {
    const v1 = h.built.routes.filter((route) => route.url.startsWith('/v1/'))
    expect(v1.length).toBeGreaterThan(20)
    const publicRoutes = v1.filter((route) => route.access && 'public' in route.access).map((route) => `${route.method} ${route.url}`)
    expect(publicRoutes.sort()).toEqual(['GET /v1/audit/signing-key', 'POST /v1/spaces/:space/auth/session', 'POST /v1/spaces/:space/auth::signIn'])
  })

  it('every protected route refuses a request without a token, with a malformed header, and with an unknown token', async () => {
    const protectedRoutes = h.built.routes.filter((route) => route.access && !('public' in route.access))
    for (const route of protectedRoutes) {
      const url = fill(route.url)
      const missing = await h.request(route.method, url)
      expect(missing.status, `${route.method} ${url} without a token`).toBe(401)
      expect(missing.body.error.code).toBe('unauthenticated')
      const malformed = await h.request(route.method, url, { headers: { authorization: 'Basic abc' } })
      expect(malformed.status, `${route.method} ${url} with Basic auth`).toBe(401)
      const unknown = await h.request(route.method, url, { token: 'ghs_notarealtoken' })
      expect(unknown.status, `${route.method} ${url} with an unknown token`).toBe(401)
    }
  })

  it("every space route answers another space's admin token as if the space did not exist", async () => {
    const spaceRoutes = h.built.routes.filter((route) => route.access && !('public' in route.access) && route.url.includes(':space'))
    expect(spaceRoutes.length).toBeGreaterThan(15)
    for (const route of spaceRoutes) {
      const url = fill(route.url)
      const response = await h.request(route.method, url, { token: otherSpaceAdmin })
      expect(response.status, `${route.method} ${url} with another space's token`).toBe(404)
      expect(response.body.error).toMatchObject({ code: 'not_found', message: "space 'default' not found" })
    }
    const nowhere = await h.request('GET', '/v1/spaces/nowhere', { token: h.adminToken })
    expect(nowhere.body.error.message).toBe("space 'nowhere' not found")
  })

  it('every route that needs more than the member role refuses a member', async () => {
    const privileged = h.built.routes.filter((route) => route.access && 'role' in route.access && route.access.role !== 'member')
    expect(privileged.length).toBeGreaterThan(10)
    for (const route of privileged) {
      const url = fill(route.url)
      const response = await h.request(route.method, url, { token: member })
      expect(response.status, `${route.method} ${url} as a member`).toBe(403)
      expect(response.body.error.code).toBe('forbidden')
    }
  })

  it('a member can use the routes meant for members', async () => {
    const open = h.built.routes.filter((route) => route.method === 'GET' && route.access && 'role' in route.access && route.access.role === 'member')
    expect(open.length).toBeGreaterThan(3)
    for (const route of open) {
      const response = await h.request('GET', fill(route.url), { token: member })
      expect([200, 404], `${route.url} as a member`).toContain(response.status)
      if (response.status === 404) expect(response.body.error.message).not.toContain('space')
    }
  })
})

describe('the /api data plane', () => {
  /** A body no /api route accepts: if a refusal mentioned it, the caller would learn the route's shape. */
  const INVALID_BODY = '[{"not":"a record"}]'
  /** What a validation message says (ajv's wording, a path into the body). */
  const SHAPE = /\bbody\b|must (be (integer|object|array|string|equal)|have|NOT|match)|not a known property/
  const VALID_BODY: Record<string, unknown> = {
    'POST /api/models/:model/find': { filter: {} },
    'POST /api/models/:model': { employee_id: 'e_sec' },
    'POST /api/models/:model/batch': { records: [{ employee_id: 'e_sec' }] },
    'PATCH /api/models/:model/:id': { first_name: 'x' },
  }
  const urlOf = (route: { url: string }) => route.url.replace(':model', 'employees').replace(':id', 'e_1')
  const token = async (space: string, adminToken: string, rules: Record<string, unknown>) => {
    const policy = await h.request('POST', `/v1/spaces/${space}/vault/policies`, { token: adminToken, body: { name: `p-${Math.random().toString(36).slice(2)}`, rules } })
    expect(policy.status, policy.text).toBe(201)
    const client = await h.request('POST', `/v1/spaces/${space}/vault/clients`, { token: adminToken, body: { name: 'c', policyId: policy.body.id } })
    expect(client.status, client.text).toBe(201)
    const issued = await h.request('POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id: client.body.clientId, client_secret: client.body.clientSecret } })
    expect(issued.status, issued.text).toBe(200)
    return { token: issued.body.access_token as string, id: client.body.id as string }
  }

  const employees = async () => {
    const model = await h.request('POST', '/v1/spaces/default/vault/models', {
      token: h.adminToken,
      body: { name: 'employees', primaryKey: 'employee_id', fields: { employee_id: { type: 'string' }, first_name: { type: 'string' } } },
    })
    expect([201, 409]).toContain(model.status)
  }

  it('checks the vault token of every /api route before reading the body', async () => {
    const apiRoutes = h.built.routes.filter((route) => route.url.startsWith('/api/'))
    expect(apiRoutes.length).toBeGreaterThanOrEqual(6)

    await employees()
    const rules = { employees: { actions: ['read', 'write', 'delete'], acl: { source: 'none' } } }
    const expiring = await token('default', h.adminToken, rules)
    h.advanceClock(301_000)
    const deleted = await token('default', h.adminToken, rules)
    expect((await h.request('DELETE', `/v1/spaces/default/vault/clients/${deleted.id}`, { token: h.adminToken })).status).toBe(204)
    const userToken = (await h.createUser('admin')).token

    const cases: Array<[string, Record<string, string>, string]> = [
      ['no token', {}, 'unauthenticated'],
      ['a malformed header', { authorization: 'Basic abc' }, 'unauthenticated'],
      ['an expired vault token', { authorization: `Bearer ${expiring.token}` }, 'token_expired'],
      ["a deleted client's token", { authorization: `Bearer ${deleted.token}` }, 'unauthenticated'],
      ['a Gatehouse user token', { authorization: `Bearer ${userToken}` }, 'unauthenticated'],
      ['a Gatehouse service-account token', { authorization: `Bearer ${h.adminToken}` }, 'unauthenticated'],
      ['a forged JWT', { authorization: `Bearer ${deleted.token.slice(0, -4)}AAAA` }, 'unauthenticated'],
      ['a malformed x-client-auth', { authorization: `Bearer ${(await token('default', h.adminToken, rules)).token}`, 'x-client-auth': 'nope' }, 'unauthenticated'],
    ]
    for (const route of apiRoutes) {
      for (const [what, headers, code] of cases) {
        const response = await h.request(route.method, urlOf(route), { body: INVALID_BODY, headers: { 'content-type': 'application/json', ...headers } })
        expect(response.status, `${route.method} ${route.url} with ${what}`).toBe(401)
        expect(response.body.error.code, `${route.method} ${route.url} with ${what}`).toBe(code)
        expect(response.body.error.details, `${route.method} ${route.url} with ${what}`).toBeUndefined()
        expect(response.body.error.message, `${route.method} ${route.url} with ${what}`).not.toMatch(SHAPE)
      }
    }
    // Declared on the route, so a new /api route is covered by the same hook.
    for (const route of apiRoutes) expect(route.access, route.url).toEqual({ vault: true })
  })

  it("answers another space's vault client as if this space's models did not exist", async () => {
    const rules = { employees: { actions: ['read', 'write', 'delete'], acl: { source: 'none' } } }
    await employees()
    const own = await token('default', h.adminToken, rules)
    const created = await h.request('POST', '/api/models/employees', { token: own.token, body: { employee_id: 'e_1', first_name: 'Ann' } })
    expect(created.status, created.text).toBe(201)
    // The other space has a model of its own (a policy may only name models that exist); its
    // client still sees none of this space's models.
    const ownModel = await h.request('POST', '/v1/spaces/other/vault/models', {
      token: otherSpaceAdmin,
      body: { name: 'staff', primaryKey: 'staff_id', fields: { staff_id: { type: 'string' } } },
    })
    expect(ownModel.status, ownModel.text).toBe(201)
    const other = await token('other', otherSpaceAdmin, { staff: rules.employees })
    for (const route of h.built.routes.filter((entry) => entry.url.startsWith('/api/'))) {
      const body = VALID_BODY[`${route.method} ${route.url}`]
      const response = await h.request(route.method, urlOf(route), { token: other.token, ...(body ? { body } : {}) })
      expect(response.status, `${route.method} ${route.url} with another space's client`).toBe(404)
      expect(response.body.error.message).toBe("model 'employees' not found")
    }
    expect((await h.request('GET', '/api/models/employees/e_1', { token: own.token })).body.first_name).toBe('Ann')
  })

  it('refuses a vault token on every protected /v1 route', async () => {
    const vaultToken = (await token('default', h.adminToken, { employees: { actions: ['read'], acl: { source: 'none' } } })).token
    const protectedRoutes = h.built.routes.filter((route) => route.access && 'role' in route.access)
    for (const route of protectedRoutes) {
      const response = await h.request(route.method, fill(route.url), { token: vaultToken, body: INVALID_BODY, headers: { 'content-type': 'application/json' } })
      expect(response.status, `${route.method} ${route.url} with a vault token`).toBe(401)
      expect(response.body.error.details).toBeUndefined()
      expect(response.body.error.message).not.toMatch(SHAPE)
    }
  })
})
