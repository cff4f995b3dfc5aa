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

/** The console's vault explorer: what it may show, and a find as the signed-in person. */
export type ConsoleVault = components['schemas']['ConsoleVault']
export type ConsoleFindResult = components['schemas']['ConsoleFindResult']

/**
 * The vault explorer's routes: the server reads through the vault client an admin designated for
 * the console, with the caller's own user token as x-client-auth (no vault secret in the browser).
 */
export const consoleVaultNamespace = (call: Call) => ({
  /** The designated client (never its secret) and the models whose rows open by grants. */
  get: () => call('getConsoleVault'),
  /** Admin: the vault client (`vcl_…`) the console reads through; null for none. */
  designate: (clientId: string | null) => call('setConsoleVaultClient', { body: { clientId } }),
  /** The data plane's find, as the caller; each row with the grant that opened it. */
  find: (model: string, body: BodyOf<'consoleFindRecords'> = {}) => call('consoleFindRecords', { path: { model }, body }),
})
