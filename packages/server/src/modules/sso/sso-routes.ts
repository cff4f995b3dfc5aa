import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { principalOf } from '../../http/access.js'
import { authedErrors, Name, Role, SpaceId, SpaceParams, Timestamp, withConflict } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import { isSecureRequest, setSessionCookies } from '../auth/session-cookies.js'
import type { SsoProvidersService } from './sso-providers-service.js'
import { FLOW_TTL_MS, type SsoService as SsoSignInService } from './sso-service.js'

type SsoService = SsoProvidersService & SsoSignInService

/** Words the routes use after `/sso/`; a provider cannot be named after them. */
const RESERVED = ['providers', 'settings', 'sign-in-options', 'token']
const ProviderId = Type.String({
  pattern: `^(?!(${RESERVED.join('|')})$)[a-z0-9][a-z0-9-]{0,62}$`,
  description: `The provider's slug in URLs, e.g. \`okta\` (not ${RESERVED.map((r) => `\`${r}\``).join(', ')})`,
})
const ClaimName = Type.String({ minLength: 1, maxLength: 100 })
const Scopes = Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,100}$' }), { minItems: 1, maxItems: 20, uniqueItems: true, description: "Must include 'openid'" })
const RoleMap = Type.Record(Type.String({ maxLength: 200 }), Role, { description: 'Claim value → role; the highest matching role wins; no match: member' })

/** The one declaration of a provider's settings: creation takes them all, an update any of them. */
const providerSettings = {
  displayName: Name,
  issuer: Type.String({ format: 'uri', maxLength: 500, description: "The issuer URL; discovery reads `{issuer}/.well-known/openid-configuration`" }),
  clientId: Type.String({ minLength: 1, maxLength: 500 }),
  scopes: Scopes,
  enabled: Type.Boolean(),
  requireVerifiedEmail: Type.Boolean({ description: 'Refuse an ID token whose `email_verified` is not true (default true)' }),
  linkExistingUsers: Type.Boolean({ description: 'A first sign-in whose verified email belongs to an existing user is linked to that user (default false: refused)' }),
  groupsClaim: Type.Union([ClaimName, Type.Null()], { description: 'The claim listing group names to follow (default `groups`; null: groups are not synced)' }),
  roleClaim: Type.Union([ClaimName, Type.Null()], { description: 'The claim whose values map to a role through roleMap (null: role is managed in Gatehouse, new users are members)' }),
  roleMap: RoleMap,
}
const ClientSecret = Type.String({ minLength: 1, maxLength: 2000, writeOnly: true, description: 'Write-only: never answered' })

const ProviderSchema = Type.Object(
  {
    id: Type.String(),
    ...providerSettings,
    hasClientSecret: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'SsoProvider' },
)
const ProviderRef = Type.Ref(ProviderSchema)
export const ssoSchemas = [ProviderSchema]

const NewProvider = Type.Object(
  {
    id: ProviderId,
    displayName: Name,
    issuer: providerSettings.issuer,
    clientId: providerSettings.clientId,
    clientSecret: Type.Optional(ClientSecret),
    scopes: Type.Optional(Scopes),
    enabled: Type.Optional(Type.Boolean()),
    requireVerifiedEmail: Type.Optional(providerSettings.requireVerifiedEmail),
    linkExistingUsers: Type.Optional(providerSettings.linkExistingUsers),
    groupsClaim: Type.Optional(providerSettings.groupsClaim),
    roleClaim: Type.Optional(providerSettings.roleClaim),
    roleMap: Type.Optional(RoleMap),
  },
  { additionalProperties: false },
)
const ProviderChanges = Type.Object(
  { ...Type.Partial(Type.Object(providerSettings)).properties, clientSecret: Type.Optional(Type.Union([ClientSecret, Type.Null()])) },
  { additionalProperties: false, minProperties: 1 },
)

const ProviderParams = Type.Object({ space: SpaceId, provider: ProviderId })
const Settings = Type.Object({ passwordSignIn: Type.Boolean({ description: 'Whether email and password sign-in works in this space' }) }, { additionalProperties: false })
const IssuedToken = Type.Ref('IssuedToken')
const admin = { role: 'admin', scope: 'space:admin' } as const
const open = { public: true } as const
const redirectResponse = { 302: Type.Null({ description: 'Redirect' }), ...authedErrors }

export const STATE_COOKIE = 'gatehouse_sso_state'
const stateCookiePath = (space: string, provider: string) => `/v1/spaces/${space}/sso/${provider}/`

export interface SsoRouteOptions {
  /** The server's public URL (GATEHOUSE_PUBLIC_URL); otherwise the request's own scheme and host. */
  publicUrl?: string | null
}

export function registerSsoRoutes(app: App, { sso, publicUrl }: { sso: SsoService } & SsoRouteOptions): void {
  const callbackUri = (request: FastifyRequest, space: string, provider: string) => {
    const base = publicUrl ? publicUrl.replace(/\/+$/, '') : `${request.protocol}://${request.host}`
    return `${base}/v1/spaces/${space}/sso/${provider}/callback`
  }

  app.post('/v1/spaces/:space/sso/providers', {
    schema: { operationId: 'createSsoProvider', tags: ['sso'], params: SpaceParams, body: NewProvider, response: { 201: ProviderRef, ...withConflict } },
    config: { access: admin },
    handler: async (request, reply) => reply.code(201).send(await sso.createProvider(principalOf(request), request.body)),
  })

  app.get('/v1/spaces/:space/sso/providers', {
    schema: { operationId: 'listSsoProviders', tags: ['sso'], params: SpaceParams, response: { 200: Type.Object({ providers: Type.Array(ProviderRef) }), ...authedErrors } },
    config: { access: admin },
    handler: async (request) => ({ providers: await sso.listProviders(request.params.space) }),
  })

  app.get('/v1/spaces/:space/sso/providers/:provider', {
    schema: { operationId: 'getSsoProvider', tags: ['sso'], params: ProviderParams, response: { 200: ProviderRef, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => sso.getProvider(request.params.space, request.params.provider),
  })

  app.patch('/v1/spaces/:space/sso/providers/:provider', {
    schema: { operationId: 'updateSsoProvider', tags: ['sso'], params: ProviderParams, body: ProviderChanges, response: { 200: ProviderRef, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => sso.updateProvider(principalOf(request), request.params.provider, request.body),
  })

  app.delete('/v1/spaces/:space/sso/providers/:provider', {
    schema: { operationId: 'deleteSsoProvider', tags: ['sso'], params: ProviderParams, response: { 204: Type.Null(), ...authedErrors } },
    config: { access: admin },
    handler: async (request, reply) => {
      await sso.deleteProvider(principalOf(request), request.params.provider)
      return reply.code(204).send(null)
    },
  })

  app.get('/v1/spaces/:space/sso/sign-in-options', {
    schema: {
      operationId: 'getSignInOptions',
      tags: ['sso'],
      summary: 'For the sign-in page: enabled providers (ids and names, no secrets) and whether password sign-in works',
      params: SpaceParams,
      response: {
        200: Type.Object({ providers: Type.Array(Type.Object({ id: Type.String(), displayName: Type.String() })), passwordSignIn: Type.Boolean() }),
        ...authedErrors,
      },
    },
    config: { access: open },
    handler: async (request) => ({
      providers: await sso.publicProviders(request.params.space),
      passwordSignIn: (await sso.getSettings(request.params.space)).passwordSignIn,
    }),
  })

  app.get('/v1/spaces/:space/sso/settings', {
    schema: { operationId: 'getSsoSettings', tags: ['sso'], params: SpaceParams, response: { 200: Settings, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => sso.getSettings(request.params.space),
  })

  app.put('/v1/spaces/:space/sso/settings', {
    schema: { operationId: 'putSsoSettings', tags: ['sso'], summary: 'Turn password sign-in off (needs an enabled provider) or on', params: SpaceParams, body: Settings, response: { 200: Settings, ...withConflict } },
    config: { access: admin },
    handler: async (request) => sso.putSettings(principalOf(request), request.body),
  })

  app.get('/v1/spaces/:space/sso/:provider/start', {
    schema: {
      operationId: 'startSsoSignIn',
      tags: ['sso'],
      summary: 'Redirects the browser to the identity provider (authorization code flow with PKCE, state and nonce)',
      params: ProviderParams,
      querystring: Type.Object({
        returnTo: Type.Optional(Type.String({ maxLength: 2000, description: 'A path under /console to land on after sign-in' })),
        cli_redirect: Type.Optional(Type.String({ maxLength: 500, description: 'CLI loopback flow: http://127.0.0.1:PORT/… that receives a one-time code' })),
        code_challenge: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: "CLI loopback flow: base64url(SHA-256(verifier))" })),
        code_challenge_method: Type.Optional(Type.Literal('S256')),
        cli_state: Type.Optional(Type.String({ maxLength: 200, description: 'CLI loopback flow: echoed back as `state`' })),
      }),
      response: redirectResponse,
    },
    config: { access: open },
    handler: async (request, reply) => {
      const { space, provider } = request.params
      const q = request.query
      const started = await sso.start(
        space,
        provider,
        { returnTo: q.returnTo, cliRedirect: q.cli_redirect, codeChallenge: q.code_challenge, codeChallengeMethod: q.code_challenge_method, cliState: q.cli_state },
        callbackUri(request, space, provider),
      )
      // Binds the flow to this browser: a callback URL carried to another browser is refused.
      reply.setCookie(STATE_COOKIE, started.state, { httpOnly: true, sameSite: 'lax', path: stateCookiePath(space, provider), secure: isSecureRequest(request), maxAge: FLOW_TTL_MS / 1000 })
      return reply.redirect(started.location, 302)
    },
  })

  app.get('/v1/spaces/:space/sso/:provider/callback', {
    schema: {
      operationId: 'finishSsoSignIn',
      tags: ['sso'],
      summary: 'Where the identity provider sends the browser back; sets the session cookie and redirects to returnTo',
      params: ProviderParams,
      querystring: Type.Object({}, { additionalProperties: Type.String({ maxLength: 4096 }), maxProperties: 20 }),
      response: redirectResponse,
    },
    config: { access: open },
    handler: async (request, reply) => {
      const { space, provider } = request.params
      const browserState = request.cookies[STATE_COOKIE]
      const result = await sso.callback(space, provider, request.query as Record<string, string>, browserState)
      reply.clearCookie(STATE_COOKIE, { httpOnly: true, sameSite: 'lax', path: stateCookiePath(space, provider), secure: isSecureRequest(request) })
      if (result.kind === 'cli') return reply.redirect(result.location, 302)
      setSessionCookies(reply, { token: result.token.token, expiresAt: result.token.expiresAt ?? new Date(Date.now() + 3600_000), secure: isSecureRequest(request) })
      return reply.redirect(result.returnTo, 302)
    },
  })

  app.post('/v1/spaces/:space/sso/token', {
    schema: {
      operationId: 'exchangeSsoCode',
      tags: ['sso'],
      summary: 'CLI loopback flow: the one-time code and the PKCE verifier → a user access token',
      params: SpaceParams,
      body: Type.Object(
        {
          code: Type.String({ minLength: 10, maxLength: 200 }),
          code_verifier: Type.String({ pattern: '^[A-Za-z0-9._~-]{43,128}$' }),
          redirect_uri: Type.String({ maxLength: 500 }),
        },
        { additionalProperties: false },
      ),
      response: { 200: IssuedToken, ...authedErrors },
    },
    config: { access: open },
    handler: async (request) =>
      sso.exchangeCliCode(request.params.space, { code: request.body.code, codeVerifier: request.body.code_verifier, redirectUri: request.body.redirect_uri }),
  })
}
