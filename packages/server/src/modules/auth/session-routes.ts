import { Type } from '@sinclair/typebox'
import { principalOf } from '../../http/access.js'
import { authedErrors, Role, SpaceParams, Timestamp } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import type { AuthService } from './auth-service.js'
import { passwordRateLimit, PasswordSignInBody, type SignInRateLimit } from './auth-routes.js'
import { clearSessionCookies, isSecureRequest, setSessionCookies } from './session-cookies.js'

const SessionSchema = Type.Object(
  {
    userId: Type.String(),
    email: Type.String(),
    role: Role,
    expiresAt: Timestamp,
    csrfToken: Type.String({ description: "Send it as 'x-csrf-token' on every call but GET/HEAD/OPTIONS (it is also in the gatehouse_csrf cookie)" }),
  },
  { $id: 'Session' },
)
export const sessionSchemas = [SessionSchema]

/**
 * The browser's way in: the same sign-in as `auth:signIn`, but the token goes into an HttpOnly
 * cookie instead of the answer, so no script on the page can read it.
 */
export function registerSessionRoutes(app: App, { auth, signInRateLimit }: { auth: AuthService; signInRateLimit: SignInRateLimit }): void {
  app.post('/v1/spaces/:space/auth/session', {
    schema: {
      operationId: 'createSession',
      tags: ['auth'],
      summary: 'Sign in with email and password into a browser session (HttpOnly cookie plus a CSRF token)',
      params: SpaceParams,
      body: PasswordSignInBody,
      response: { 200: Type.Ref(SessionSchema), ...authedErrors },
    },
    // Shares its bucket with auth:signIn: two doors to one password check.
    config: { access: { public: true }, rateLimit: passwordRateLimit(signInRateLimit) },
    handler: async (request, reply) => {
      const issued = await auth.signIn(request.params.space, request.body.email, request.body.password)
      const principal = await auth.authenticate(issued.token)
      const { csrfToken } = setSessionCookies(reply, { token: issued.token, expiresAt: issued.expiresAt!, secure: isSecureRequest(request) })
      return { userId: principal.subjectId, email: principal.email ?? '', role: principal.role, expiresAt: issued.expiresAt!, csrfToken }
    },
  })

  app.delete('/v1/spaces/:space/auth/session', {
    schema: {
      operationId: 'deleteSession',
      tags: ['auth'],
      summary: 'Sign out: revoke the session token and clear the cookies',
      params: SpaceParams,
      response: { 204: Type.Null(), ...authedErrors },
    },
    config: { access: { role: 'member', scope: 'space:read' } },
    handler: async (request, reply) => {
      const principal = principalOf(request)
      await auth.revoke(principal, principal.tokenId)
      clearSessionCookies(reply)
      return reply.code(204).send(null)
    },
  })
}
