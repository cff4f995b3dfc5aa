import type { BodyOf, QueryOf } from '../call.js'
import { fillPath } from '../call.js'
import { routes } from '../generated/routes.js'
import type { Call } from './call-type.js'

/** The browser's side of a sign-in is a redirect, not a call: these build the URLs to send people to. */
function urlOf(baseUrl: string, path: string, query: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, value)
  const tail = search.size ? `?${search}` : ''
  // A browser client on the server's own origin has a relative base ('' or '/'): so is the link.
  if (!/^[a-z][a-z0-9+.-]*:/i.test(baseUrl)) return `${baseUrl.replace(/\/+$/, '')}${path}${tail}`
  return `${new URL(path.replace(/^\//, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`)}${tail}`
}

/**
 * OpenID Connect providers of a space and its sign-in settings (docs/sso.md). A provider's client
 * secret is write-only: no answer carries it. For a CLI sign-in use `signInWithSso()`.
 */
export const ssoNamespace = (call: Call, context: () => { baseUrl: string; space: string }) => ({
  listProviders: () => call('listSsoProviders'),
  getProvider: (provider: string) => call('getSsoProvider', { path: { provider } }),
  createProvider: (body: BodyOf<'createSsoProvider'>) => call('createSsoProvider', { body }),
  updateProvider: (provider: string, body: BodyOf<'updateSsoProvider'>) => call('updateSsoProvider', { path: { provider }, body }),
  deleteProvider: (provider: string) => call('deleteSsoProvider', { path: { provider } }),
  /** Public: enabled providers (id, display name) and whether password sign-in works, for a sign-in page. */
  signInOptions: () => call('getSignInOptions'),
  getSettings: () => call('getSsoSettings'),
  updateSettings: (body: BodyOf<'putSsoSettings'>) => call('putSsoSettings', { body }),
  /** Where a browser starts signing in with `provider` (a redirect to the identity provider). */
  startUrl: (provider: string, query: QueryOf<'startSsoSignIn'> = {}) =>
    urlOf(context().baseUrl, fillPath(routes.startSsoSignIn.path, { space: context().space, provider }), query as Record<string, string | undefined>),
  /** The redirect URI to register at the identity provider for `provider`. */
  callbackUrl: (provider: string) => urlOf(context().baseUrl, fillPath(routes.finishSsoSignIn.path, { space: context().space, provider })),
  /** The CLI loopback flow's last step: a one-time code and its PKCE verifier for a `ghu_` token. */
  exchangeCode: (body: BodyOf<'exchangeSsoCode'>) => call('exchangeSsoCode', { body }),
})
