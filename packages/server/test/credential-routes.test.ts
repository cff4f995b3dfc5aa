import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Role, TokenScope } from '../src/modules/auth/auth-types.js'
import {
  ALL_SCOPES,
  authorityOf,
  credentialShapedOperations,
  CREDENTIAL_ROUTES,
  isProtected,
  NOT_CREDENTIALS,
  openApiPath,
  passes,
  PASSWORD,
  ROLES,
  within,
  type Authority,
  type Fixture,
  type OpenApiDoc,
} from './credential-routes.js'
import { createHarness, type Harness } from './harness.js'

/**
 * Issue 11, "scope escalation": a token may never produce, directly or through a user it manages,
 * a credential with a scope or role it does not hold itself.
 */
let h: Harness
let fx: Fixture
let callers: Record<Role, string>

async function post(url: string, body: unknown, token = h.adminToken) {
  const response = await h.request('POST', url, { token, body })
  if (response.status >= 300) throw new Error(`${url}: ${response.status} ${response.text}`)
  return response.body
}
const account = async (name: string, role: Role): Promise<string> => (await post('/v1/spaces/default/service-accounts', { name, role })).id
/** A service-account token of the given role and scopes, minted by the bootstrap token (which holds everything). */
const issueFor = (accountId: string, scopes: TokenScope[]) => post(`/v1/spaces/default/service-accounts/${accountId}/tokens`, { name: 'caller', scopes })
const tokenFor = async (accountId: string, scopes: TokenScope[]): Promise<string> => (await issueFor(accountId, scopes)).token

beforeAll(async () => {
  h = await createHarness()
  const users = {} as Fixture['users']
  const accounts = {} as Fixture['accounts']
  callers = {} as Record<Role, string>
  for (const role of ROLES) {
    users[role] = await h.createUser(role)
    accounts[role] = await account(`target-${role}`, role)
    callers[role] = await account(`caller-${role}`, role)
  }
  const policy = await post('/v1/spaces/default/vault/policies', { name: 'nothing', rules: {} })
  const promotee = await h.createUser('member')
  const issued = await post(`/v1/spaces/default/users/${promotee.id}/tokens`, {})
  fx = { users, accounts, promotee: { id: promotee.id, issued }, vaultPolicyId: policy.id }
})
afterAll(() => h.close())

describe('every route that produces a credential', () => {
  it('is known: the OpenAPI document shows no other route handling a secret, a password, a role or scopes', () => {
    const doc = h.built.app.swagger() as unknown as OpenApiDoc
    // Nothing under /v1 is hidden from the document, so nothing escapes the scan below.
    for (const route of h.built.routes.filter((r) => r.url.startsWith('/v1/'))) {
      expect(doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()], `${route.method} ${route.url} in openapi.json`).toBeDefined()
    }
    const known = new Set([...CREDENTIAL_ROUTES.map((route) => route.operationId), ...Object.keys(NOT_CREDENTIALS)])
    const shaped = credentialShapedOperations(doc)
    expect(shaped.map((op) => op.operationId)).toContain('issueUserToken')
    expect(shaped.filter((op) => !known.has(op.operationId)).map((op) => `${op.method} ${op.path} (${op.words.join(', ')})`)).toEqual([])
    for (const route of CREDENTIAL_ROUTES) {
      expect(h.built.routes.some((r) => r.method === route.method && r.url === route.url && isProtected(r.access)), `${route.operationId} is a protected route`).toBe(true)
    }
  })

  it('gives no caller, of any role and scope set, a credential beyond its own, and refuses only what it must', async () => {
    const accessOf = (method: string, url: string) => {
      const access = h.built.routes.find((r) => r.method === method && r.url === url)?.access
      if (!isProtected(access)) throw new Error(`${method} ${url} is not protected`)
      return access
    }
    const role = fc.constantFrom(...ROLES)
    const scopeSet = fc.subarray(ALL_SCOPES, { minLength: 1 })
    const input = fc.record({
      callerRole: fc.oneof({ weight: 3, arbitrary: fc.constant<Role>('admin') }, { weight: 1, arbitrary: role }),
      // Most interesting callers hold space:admin (the credential routes need it); any set can come.
      callerScopes: fc.oneof(
        { weight: 1, arbitrary: scopeSet },
        { weight: 2, arbitrary: fc.subarray(ALL_SCOPES).map((set) => [...new Set<TokenScope>([...set, 'space:admin'])]) },
      ),
      targetRole: role,
      scopes: scopeSet,
    })
    let n = 0
    let allowed = 0
    let refused = 0
    await fc.assert(
      fc.asyncProperty(input, async ({ callerRole, callerScopes, targetRole, scopes }) => {
        const issued = await issueFor(callers[callerRole], callerScopes)
        const token: string = issued.token
        const caller: Authority = await authorityOf(h, issued)
        expect(caller).toEqual({ role: callerRole, scopes: callerScopes })
        try {
          for (const route of CREDENTIAL_ROUTES) {
            const attempt = await route.attempt(h, fx, token, { targetRole, scopes, n: `${++n}` })
            const label = `${route.operationId} by ${callerRole} ${JSON.stringify(callerScopes)} for ${JSON.stringify(attempt.requested)}: ${attempt.status} ${attempt.text.slice(0, 300)}`
            const gate = passes(caller, accessOf(route.method, route.url))
            const fine = attempt.requested === null || within(caller, attempt.requested)
            if (attempt.status < 300) {
              allowed++
              const produced = await attempt.observe()
              if (produced) expect(within(caller, produced), `escalation: ${label} produced ${JSON.stringify(produced)}`).toBe(true)
            } else {
              refused++
              expect(attempt.status, label).toBe(403)
              expect(gate && fine, `refused although within the caller's authority: ${label}`).toBe(false)
            }
          }
        } finally {
          await h.request('PATCH', `/v1/spaces/default/users/${fx.promotee.id}`, { token: h.adminToken, body: { role: 'member' } })
        }
      }),
      {
        numRuns: 50,
        examples: [
          // The security review's cases: space:admin alone, and instance:admin alone.
          [{ callerRole: 'admin', callerScopes: ['space:admin'], targetRole: 'admin', scopes: ['*'] }],
          [{ callerRole: 'admin', callerScopes: ['instance:admin', 'space:admin'], targetRole: 'admin', scopes: ['space:admin'] }],
          // Everything '*' stands for, spelled out, is as good as '*'.
          [{ callerRole: 'admin', callerScopes: ALL_SCOPES.filter((s) => s !== '*'), targetRole: 'admin', scopes: ['*'] }],
          [{ callerRole: 'admin', callerScopes: ['*'], targetRole: 'reviewer', scopes: ['*'] }],
        ],
      },
    )
    // Not vacuous: both outcomes happened.
    expect(allowed).toBeGreaterThan(10)
    expect(refused).toBeGreaterThan(10)
  }, 600_000)
})

describe("a 'space:admin' token", () => {
  let spaceAdmin: string
  beforeAll(async () => {
    spaceAdmin = await tokenFor(callers.admin, ['space:admin'])
  })

  it("cannot mint a '*' user token for an admin, and is told which scopes it lacks", async () => {
    const response = await h.request('POST', `/v1/spaces/default/users/${fx.users.admin.id}/tokens`, { token: spaceAdmin, body: {} })
    expect(response.status).toBe(403)
    expect(response.body.error.code).toBe('forbidden')
    expect(response.body.error.message).toContain(`a token for user ${fx.users.admin.id}`)
    expect(response.body.error.message).toContain("'audit:read'")
    expect(response.body.error.message).toContain("'vault:admin'")
  })

  it("cannot set an admin's password and sign in as them", async () => {
    const target = await h.createUser('admin', { password: PASSWORD })
    const response = await h.request('PATCH', `/v1/spaces/default/users/${target.id}`, { token: spaceAdmin, body: { password: 'the attacker knows this one' } })
    expect(response.status).toBe(403)
    expect(response.body.error.message).toContain(`a password for user ${target.id}`)
    const signIn = await h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email: target.email, password: 'the attacker knows this one' } })
    expect(signIn.status).toBe(401)
    // The old password still works: nothing changed.
    expect((await h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email: target.email, password: PASSWORD } })).status).toBe(200)
  })

  it('cannot promote a member to admin, nor create an admin with a password', async () => {
    const member = await h.createUser('member')
    const promote = await h.request('PATCH', `/v1/spaces/default/users/${member.id}`, { token: spaceAdmin, body: { role: 'admin' } })
    expect(promote.status).toBe(403)
    expect((await h.request('GET', `/v1/spaces/default/auth/me`, { token: member.token })).body.role).toBe('member')
    const create = await h.request('POST', '/v1/spaces/default/users', {
      token: spaceAdmin,
      body: { email: 'would-be-admin@example.com', name: 'W', role: 'admin', password: PASSWORD },
    })
    expect(create.status).toBe(403)
    expect((await h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email: 'would-be-admin@example.com', password: PASSWORD } })).status).toBe(401)
  })

  it('can still rename a user, and mint service-account tokens with the scopes it holds', async () => {
    const rename = await h.request('PATCH', `/v1/spaces/default/users/${fx.users.admin.id}`, { token: spaceAdmin, body: { name: 'Renamed' } })
    expect(rename.status).toBe(200)
    const minted = await h.request('POST', `/v1/spaces/default/service-accounts/${fx.accounts.admin}/tokens`, { token: spaceAdmin, body: { name: 'ok', scopes: ['space:admin'] } })
    expect(minted.status).toBe(201)
  })
})

it("an 'instance:admin' token without '*' cannot create a space, whose admin token would carry '*'", async () => {
  const instanceOnly = await tokenFor(callers.admin, ['instance:admin'])
  const response = await h.request('POST', '/v1/spaces', { token: instanceOnly, body: { id: 'escalated' } })
  expect(response.status).toBe(403)
  expect(response.body.error.message).toContain("space 'escalated'")
  const spaces = await h.request('GET', '/v1/spaces?limit=200', { token: h.adminToken })
  expect(spaces.body.spaces.map((space: { id: string }) => space.id)).not.toContain('escalated')
})
