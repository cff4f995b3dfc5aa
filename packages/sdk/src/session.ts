import type { components, operations } from './generated/api.js'
import type { Request } from './transport.js'

type Body<Op extends keyof operations> = operations[Op] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never
type Ok<Op extends keyof operations> = operations[Op] extends { responses: { 200: { content: { 'application/json': infer R } } } } ? R : never

/** A browser session: what `createSession` answers (the token itself stays in an HttpOnly cookie). */
export type Session = components['schemas']['Session']

/**
 * The console's routes: the browser session (cookie + CSRF token) and the vault explorer's find,
 * which runs through the vault client an admin designated for the console. Mixed into
 * GatehouseAPI as `session` and `consoleVault`.
 */
export function sessionNamespace(request: Request, prefix: () => string) {
  return {
    /** Email and password → an HttpOnly session cookie; answers who signed in and the CSRF token to echo. */
    create: (body: Body<'createSession'>): Promise<Session> => request('POST', `${prefix()}/auth/session`, { body }),
    /** Who the session acts as (the same route as auth.whoAmI). */
    current: (): Promise<Ok<'whoAmI'>> => request('GET', `${prefix()}/auth/me`),
    /** Revokes the session's token and clears the cookies. */
    delete: (): Promise<void> => request('DELETE', `${prefix()}/auth/session`),
  }
}

export type SessionNamespace = ReturnType<typeof sessionNamespace>
export type { Ok as OperationResult }
