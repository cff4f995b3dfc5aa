import type { BodyOf } from './call.js'
import type { components } from './generated/api.js'
import type { Call } from './namespaces/call-type.js'

/** A browser session: what `createSession` answers (the token itself stays in an HttpOnly cookie). */
export type Session = components['schemas']['Session']

/**
 * The console's own routes: the browser session (cookie + CSRF token). Use the client in session
 * mode (`credentials: 'same-origin'`, `csrfToken: () => cookie`) so the cookie goes along.
 */
export const sessionNamespace = (call: Call) => ({
  /** Email and password → an HttpOnly session cookie; answers who signed in and the CSRF token to echo. */
  create: (body: BodyOf<'createSession'>) => call('createSession', { body }),
  /** Revokes the session's token and clears the cookies. */
  delete: () => call('deleteSession'),
})
