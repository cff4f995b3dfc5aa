import type { RouteAccess } from '../src/http/access.js'
import { SCOPES, type Role, type TokenScope } from '../src/modules/auth/auth-types.js'
import type { Harness } from './harness.js'

/**
 * Every route that produces a credential, and how to observe what the credential can do. The
 * security property in credential-routes.test.ts runs each against callers of every role and scope
 * set; a route the OpenAPI document shows handling a secret, a password, a role or scopes must be
 * here or in NOT_CREDENTIALS with the reason, so a new credential route cannot slip past the rule.
 */

export interface Authority {
  role: Role
  scopes: TokenScope[]
}

export const ROLES: Role[] = ['member', 'reviewer', 'admin']
export const ALL_SCOPES: TokenScope[] = [...SCOPES, '*']

/** The oracle, independent of the server's policy: what a token can pass, as `config.access` checks it. */
const RANK: Record<Role, number> = { member: 1, reviewer: 2, admin: 3 }
export function passes(who: Authority, access: { role: Role; scope: (typeof SCOPES)[number] }): boolean {
  const scoped = who.scopes.includes(access.scope) || (access.scope !== 'instance:admin' && who.scopes.includes('*'))
  return RANK[who.role] >= RANK[access.role] && scoped
}
/** `produced` can do nothing `caller` cannot, and acts with no higher role. */
export function within(caller: Authority, produced: Authority): boolean {
  if (RANK[produced.role] > RANK[caller.role]) return false
  return ROLES.every((role) => SCOPES.every((scope) => !passes(produced, { role, scope }) || passes(caller, { role, scope })))
}

/** What a property run asks a credential route for. */
export interface Pick {
  targetRole: Role
  scopes: TokenScope[]
  n: string
}

/** The targets the routes act on, made once by the bootstrap token. */
export interface Fixture {
  users: Record<Role, { id: string; token: string }>
  accounts: Record<Role, string>
  /** A member whose own token shows the role a role change gives it; reset after each run. */
  promotee: { id: string; issued: Issued }
  vaultPolicyId: string
}

export interface Attempt {
  status: number
  text: string
  /** What the caller asked the credential to carry; null when it is not a ghu_/ghs_ credential. */
  requested: Authority | null
  /** After a 2xx: what the credential actually carries, read back from the server. */
  observe: () => Promise<Authority | null>
}

export interface CredentialRoute {
  operationId: string
  method: string
  url: string
  attempt(h: Harness, fx: Fixture, caller: string, pick: Pick): Promise<Attempt>
}

export const PASSWORD = 'correct horse battery staple'

interface Issued {
  id: string
  kind: 'user' | 'service_account'
  subjectId: string
  token: string
}

/** What a token carries, read by the bootstrap admin: its scopes, and its subject's role now. */
export async function authorityOf(h: Harness, issued: Issued): Promise<Authority> {
  const token = await h.request('GET', `/v1/spaces/default/tokens/${issued.id}`, { token: h.adminToken })
  const subject = issued.kind === 'user' ? `users/${issued.subjectId}` : `service-accounts/${issued.subjectId}`
  const owner = await h.request('GET', `/v1/spaces/default/${subject}`, { token: h.adminToken })
  if (token.status !== 200 || owner.status !== 200) throw new Error(`reading ${issued.id}: ${token.text} ${owner.text}`)
  return { role: owner.body.role, scopes: token.body.scopes }
}

/** For a token of another space, which the bootstrap admin cannot read: ask the token itself. */
async function authorityInSpace(h: Harness, token: string, space: string): Promise<Authority> {
  const me = await h.request('GET', `/v1/spaces/${space}/auth/me`, { token })
  if (me.status !== 200) throw new Error(`auth/me: ${me.status} ${me.text}`)
  return { role: me.body.role, scopes: me.body.scopes }
}

async function signInAs(h: Harness, email: string, password: string): Promise<Authority> {
  const signIn = await h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email, password } })
  if (signIn.status !== 200) throw new Error(`signIn: ${signIn.status} ${signIn.text}`)
  return authorityOf(h, signIn.body)
}

const userCredential = (role: Role): Authority => ({ role, scopes: ['*'] })

export const CREDENTIAL_ROUTES: CredentialRoute[] = [
  {
    operationId: 'issueUserToken',
    method: 'POST',
    url: '/v1/spaces/:space/users/:userId/tokens',
    async attempt(h, fx, caller, pick) {
      const r = await h.request('POST', `/v1/spaces/default/users/${fx.users[pick.targetRole].id}/tokens`, { token: caller, body: {} })
      return { status: r.status, text: r.text, requested: userCredential(pick.targetRole), observe: () => authorityOf(h, r.body) }
    },
  },
  {
    operationId: 'issueServiceAccountToken',
    method: 'POST',
    url: '/v1/spaces/:space/service-accounts/:accountId/tokens',
    async attempt(h, fx, caller, pick) {
      const r = await h.request('POST', `/v1/spaces/default/service-accounts/${fx.accounts[pick.targetRole]}/tokens`, {
        token: caller,
        body: { name: `t${pick.n}`, scopes: pick.scopes },
      })
      return { status: r.status, text: r.text, requested: { role: pick.targetRole, scopes: pick.scopes }, observe: () => authorityOf(h, r.body) }
    },
  },
  {
    operationId: 'createUser',
    method: 'POST',
    url: '/v1/spaces/:space/users',
    async attempt(h, _fx, caller, pick) {
      const email = `new-${pick.n}@example.com`
      const r = await h.request('POST', '/v1/spaces/default/users', { token: caller, body: { email, name: 'New', role: pick.targetRole, password: PASSWORD } })
      return { status: r.status, text: r.text, requested: userCredential(pick.targetRole), observe: () => signInAs(h, email, PASSWORD) }
    },
  },
  {
    operationId: 'updateUser',
    method: 'PATCH',
    url: '/v1/spaces/:space/users/:userId',
    async attempt(h, fx, caller, pick) {
      // Setting a password: whoever knows it signs in as the user.
      const target = fx.users[pick.targetRole]
      const password = `${PASSWORD} ${pick.n}`
      const r = await h.request('PATCH', `/v1/spaces/default/users/${target.id}`, { token: caller, body: { password } })
      const email = r.status === 200 ? (r.body.email as string) : ''
      return { status: r.status, text: r.text, requested: userCredential(pick.targetRole), observe: () => signInAs(h, email, password) }
    },
  },
  {
    operationId: 'updateUser',
    method: 'PATCH',
    url: '/v1/spaces/:space/users/:userId',
    async attempt(h, fx, caller, pick) {
      // Changing a role: every token the user holds now acts with it.
      const r = await h.request('PATCH', `/v1/spaces/default/users/${fx.promotee.id}`, { token: caller, body: { role: pick.targetRole } })
      return { status: r.status, text: r.text, requested: userCredential(pick.targetRole), observe: () => authorityOf(h, fx.promotee.issued) }
    },
  },
  {
    operationId: 'createSpace',
    method: 'POST',
    url: '/v1/spaces',
    async attempt(h, _fx, caller, pick) {
      const id = `s${pick.n}`
      const r = await h.request('POST', '/v1/spaces', { token: caller, body: { id } })
      return { status: r.status, text: r.text, requested: { role: 'admin', scopes: ['*'] }, observe: () => authorityInSpace(h, r.body.adminToken.token, id) }
    },
  },
  {
    operationId: 'createVaultClient',
    method: 'POST',
    url: '/v1/spaces/:space/vault/clients',
    async attempt(h, fx, caller, pick) {
      // A vault client's secret reads what its vault policy allows; only `vault:admin` writes those
      // policies, and the route needs it: the route's own access is the whole rule here.
      const r = await h.request('POST', '/v1/spaces/default/vault/clients', { token: caller, body: { name: `c${pick.n}`, policyId: fx.vaultPolicyId } })
      return { status: r.status, text: r.text, requested: null, observe: async () => null }
    },
  },
]

/** Routes whose schema mentions secrets, passwords, roles or scopes but produce no credential, and why. */
export const NOT_CREDENTIALS: Record<string, string> = {
  signIn: 'public: exchanges a password the caller already knows for that user’s own token',
  createSession: 'public: signIn into an HttpOnly cookie; the same password check, the same user’s own token',
  oauthToken: 'public: exchanges a vault client secret for a vault token bound to that client’s policy',
  createServiceAccount: 'gives an account a role but no secret; its tokens come only from issueServiceAccountToken, which checks that role',
  createWebhookEndpoint: 'the secret signs deliveries Gatehouse sends; it authenticates to nothing here',
  rotateWebhookSecret: 'the secret signs deliveries Gatehouse sends; it authenticates to nothing here',
}

/** In a request: what a credential is made of. In an answer: a secret handed out. */
const REQUEST_WORDS = new Set(['password', 'role', 'scopes', 'secret', 'client_secret'])
const ANSWER_WORDS = new Set(['password', 'token', 'adminToken', 'secret', 'clientSecret', 'access_token'])

type JsonSchema = Record<string, unknown>
/** Property names anywhere in a schema, following `$ref`s into the document's components. */
function propertyNames(schema: unknown, components: Record<string, JsonSchema>, seen = new Set<unknown>()): string[] {
  if (!schema || typeof schema !== 'object' || seen.has(schema)) return []
  seen.add(schema)
  const s = schema as JsonSchema
  const names: string[] = []
  if (typeof s.$ref === 'string') names.push(...propertyNames(components[s.$ref.split('/').pop()!], components, seen))
  if (s.properties && typeof s.properties === 'object') {
    for (const [name, sub] of Object.entries(s.properties)) names.push(name, ...propertyNames(sub, components, seen))
  }
  for (const key of ['items', 'anyOf', 'oneOf', 'allOf', 'additionalProperties']) {
    const sub = s[key]
    for (const part of Array.isArray(sub) ? sub : [sub]) names.push(...propertyNames(part, components, seen))
  }
  return names
}

interface Operation {
  operationId?: string
  requestBody?: { content?: Record<string, { schema?: unknown }> }
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>
}
export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, JsonSchema> }
}

/** Operations whose request or 2xx answer carries a secret, a password, a role or scopes. */
export function credentialShapedOperations(doc: OpenApiDoc): Array<{ operationId: string; method: string; path: string; words: string[] }> {
  const components = doc.components?.schemas ?? {}
  const found = []
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const asked = Object.values(operation.requestBody?.content ?? {}).flatMap((content) => propertyNames(content.schema, components))
      const answered = Object.entries(operation.responses ?? {})
        .filter(([status]) => status.startsWith('2'))
        .flatMap(([, response]) => Object.values(response.content ?? {}).flatMap((content) => propertyNames(content.schema, components)))
      const words = [...new Set([...asked.filter((name) => REQUEST_WORDS.has(name)), ...answered.filter((name) => ANSWER_WORDS.has(name))])]
      if (words.length > 0) found.push({ operationId: operation.operationId ?? `${method} ${path}`, method: method.toUpperCase(), path, words })
    }
  }
  return found
}

/** `/v1/spaces/:space/tokens/:tokenId(^…)::revoke` → `/v1/spaces/{space}/tokens/{tokenId}:revoke`, as the OpenAPI document writes it. */
export const openApiPath = (url: string): string =>
  url.replaceAll('::', '\u0000').replace(/:([A-Za-z]+)(\([^)]*\))?/g, '{$1}').replaceAll('\u0000', ':')

export const isProtected = (access: RouteAccess | undefined): access is Extract<RouteAccess, { role: Role }> => !!access && !('public' in access)
