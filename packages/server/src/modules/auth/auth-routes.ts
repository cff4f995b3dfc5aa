import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { principalOf } from '../../http/access.js'
import { authedErrors, Cursor, Email, EntityId, Name, Page, Role, SpaceParams, spaceAnd, Timestamp } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import { MAX_USER_TOKEN_TTL_SECONDS, type AuthService } from './auth-service.js'
import { SCOPES, type TokenScope } from './auth-types.js'

const ScopeSchema = Type.Unsafe<TokenScope>({ type: 'string', enum: [...SCOPES, '*'] })

const ActorSchema = Type.Object({ kind: Type.String(), id: Type.String(), display: Type.Optional(Type.String()), tokenId: Type.Optional(Type.String()) })

const tokenFields = {
  id: Type.String(),
  kind: Type.Union([Type.Literal('user'), Type.Literal('service_account')]),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the secret, to recognise it by' }),
  subjectId: Type.String({ description: 'The user or service account the token acts as' }),
  scopes: Type.Array(ScopeSchema),
  createdAt: Timestamp,
  expiresAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
  createdBy: ActorSchema,
}
const TokenSchema = Type.Object(tokenFields)
/** The only response that carries a secret: creation. */
const IssuedTokenSchema = Type.Object(
  { ...tokenFields, token: Type.String({ description: 'The secret. Shown once; store it now.' }) },
  { $id: 'IssuedToken' },
)
export const authSchemas = [IssuedTokenSchema]
const IssuedTokenRef = Type.Ref(IssuedTokenSchema)

const admin = { role: 'admin', scope: 'space:admin' } as const
const self = { role: 'member', scope: 'space:read' } as const

export interface SignInRateLimit {
  max: number
  timeWindowMs: number
}

/** Email and password, as both password sign-ins (token and browser session) take them. */
export const PasswordSignInBody = Type.Object({ email: Email, password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false })

/**
 * Per client address and space, one bucket for every door to the password check (auth:signIn and
 * the console's session, one `groupId`), shared by every node: slows password guessing without
 * locking a user out everywhere.
 */
export const passwordRateLimit = (limit: SignInRateLimit) => ({
  max: limit.max,
  timeWindow: limit.timeWindowMs,
  groupId: 'password-sign-in',
  keyGenerator: (request: FastifyRequest) => `${request.ip}|${(request.params as { space?: string }).space ?? ''}`,
})

export function registerAuthRoutes(app: App, { auth, signInRateLimit }: { auth: AuthService; signInRateLimit: SignInRateLimit }): void {
  app.post('/v1/spaces/:space/auth::signIn', {
    schema: {
      operationId: 'signIn',
      tags: ['auth'],
      summary: 'Exchange email and password for a short-lived user access token',
      params: SpaceParams,
      body: PasswordSignInBody,
      response: { 200: IssuedTokenRef, ...authedErrors },
    },
    config: { access: { public: true }, rateLimit: passwordRateLimit(signInRateLimit) },
    handler: async (request) => auth.signIn(request.params.space, request.body.email, request.body.password),
  })

  app.post('/v1/spaces/:space/auth::signOut', {
    schema: {
      operationId: 'signOut',
      tags: ['auth'],
      summary: 'Revoke the token this request was made with',
      params: SpaceParams,
      response: { 200: TokenSchema, ...authedErrors },
    },
    config: { access: self },
    handler: async (request) => {
      const principal = principalOf(request)
      return auth.revoke(principal, principal.tokenId)
    },
  })

  app.get('/v1/spaces/:space/auth/me', {
    schema: {
      operationId: 'whoAmI',
      tags: ['auth'],
      summary: 'Who the token acts as, with which role and scopes',
      params: SpaceParams,
      response: {
        200: Type.Object({
          space: Type.String(),
          kind: Type.String(),
          subjectId: Type.String(),
          display: Type.Optional(Type.String()),
          role: Role,
          scopes: Type.Array(ScopeSchema),
          tokenId: Type.String(),
        }),
        ...authedErrors,
      },
    },
    config: { access: self },
    handler: async (request) => {
      const principal = principalOf(request)
      return {
        space: principal.spaceId,
        kind: principal.kind,
        subjectId: principal.subjectId,
        display: principal.actor.display,
        role: principal.role,
        scopes: principal.scopes,
        tokenId: principal.tokenId,
      }
    },
  })

  app.post('/v1/spaces/:space/users/:userId/tokens', {
    schema: {
      operationId: 'issueUserToken',
      tags: ['auth'],
      summary: 'Issue a short-lived user access token that acts as this user',
      params: spaceAnd('userId'),
      body: Type.Object(
        { name: Type.Optional(Name), ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_USER_TOKEN_TTL_SECONDS })) },
        { additionalProperties: false },
      ),
      response: { 201: IssuedTokenRef, ...authedErrors },
    },
    config: { access: admin },
    handler: async (request, reply) => reply.code(201).send(await auth.issueUserToken(principalOf(request), request.params.userId, request.body ?? {})),
  })

  app.post('/v1/spaces/:space/service-accounts/:accountId/tokens', {
    schema: {
      operationId: 'issueServiceAccountToken',
      tags: ['auth'],
      summary: 'Issue a long-lived, revocable, scoped token for a service account',
      params: spaceAnd('accountId'),
      body: Type.Object(
        {
          name: Name,
          scopes: Type.Optional(Type.Array(ScopeSchema, { minItems: 1, maxItems: SCOPES.length + 1, uniqueItems: true })),
          ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 24 * 3600, description: 'Omit for a token that lives until revoked' })),
        },
        { additionalProperties: false },
      ),
      response: { 201: IssuedTokenRef, ...authedErrors },
    },
    config: { access: admin },
    handler: async (request, reply) =>
      reply.code(201).send(await auth.issueServiceAccountToken(principalOf(request), request.params.accountId, request.body)),
  })

  app.get('/v1/spaces/:space/tokens', {
    schema: {
      operationId: 'listTokens',
      tags: ['auth'],
      summary: 'Tokens of the space (never their secrets)',
      params: SpaceParams,
      querystring: Type.Object({
        subject: Type.Optional(EntityId),
        cursor: Type.Optional(Cursor),
        limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
      }),
      response: { 200: Page('tokens', TokenSchema), ...authedErrors },
    },
    config: { access: admin },
    handler: async (request) => auth.listTokens(request.params.space, request.query.subject ?? null, request.query.cursor ?? null, request.query.limit),
  })

  app.get('/v1/spaces/:space/tokens/:tokenId', {
    schema: { operationId: 'getToken', tags: ['auth'], params: spaceAnd('tokenId'), response: { 200: TokenSchema, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => auth.getToken(request.params.space, request.params.tokenId),
  })

  // The regex ends the parameter name before the literal `:revoke` (Fastify writes a colon as `::`).
  app.post('/v1/spaces/:space/tokens/:tokenId(^[A-Za-z0-9_-]+)::revoke', {
    schema: { operationId: 'revokeToken', tags: ['auth'], params: spaceAnd('tokenId'), response: { 200: TokenSchema, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => auth.revoke(principalOf(request), request.params.tokenId),
  })
}
