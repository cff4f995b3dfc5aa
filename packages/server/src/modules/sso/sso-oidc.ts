import * as oidc from 'openid-client'
import type { OutboundClient } from '../../lib/outbound/index.js'
import { isLoopbackHost } from './sso-policy.js'
import type { SsoProviderSecretView } from './sso-types.js'

/**
 * The relying party, on openid-client: discovery, the authorization URL (PKCE S256, state, nonce)
 * and the code exchange with every ID token check (signature against the issuer's JWKS, iss, aud,
 * exp, nonce). Every request it makes goes out through the outbound policy.
 */
export interface RelyingParty {
  authorizationUrl(provider: SsoProviderSecretView, params: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Promise<URL>
  /** The verified ID token claims, or a throw that `classifyOidcError` understands. */
  exchange(
    provider: SsoProviderSecretView,
    /** The redirect URI the flow started with, carrying the query the IdP sent back (openid-client strips it again for the token request). */
    callbackUrl: URL,
    checks: { state: string; nonce: string; codeVerifier: string },
  ): Promise<Record<string, unknown>>
}

const MAX_ANSWER_BYTES = 512 * 1024
const TIMEOUT_MS = 10_000


export function createRelyingParty(outbound: OutboundClient): RelyingParty {
  const fetchThroughPolicy: oidc.CustomFetch = async (url, options) => {
    const answer = await outbound.send({
      purpose: 'sso',
      url,
      method: options.method === 'GET' ? 'GET' : 'POST',
      headers: options.headers,
      body: options.body === undefined || options.body === null ? undefined : String(options.body),
      timeoutMs: TIMEOUT_MS,
      maxBytes: MAX_ANSWER_BYTES,
    })
    const headers = new Headers()
    for (const [name, value] of Object.entries(answer.headers)) {
      if (Array.isArray(value)) value.forEach((v) => headers.append(name, v))
      else if (value !== undefined) headers.set(name, value)
    }
    const nullBody = answer.status === 204 || answer.status === 304
    return new Response(nullBody ? null : new Uint8Array(answer.body), { status: answer.status, headers })
  }

  /**
   * Discovered configurations, cached per process and keyed by everything they depend on, so an edit
   * of the provider (or another node's edit) gives a fresh one. A cache only: the JWKS it holds is
   * refetched by openid-client when a token names an unknown `kid`.
   */
  const cache = new Map<string, Promise<oidc.Configuration>>()

  function configurationFor(provider: SsoProviderSecretView): Promise<oidc.Configuration> {
    const key = JSON.stringify([provider.id, provider.issuer, provider.clientId, provider.clientSecret, provider.updatedAt])
    let entry = cache.get(key)
    if (!entry) {
      const issuer = new URL(provider.issuer)
      entry = oidc.discovery(
        issuer,
        provider.clientId,
        undefined,
        provider.clientSecret ? oidc.ClientSecretPost(provider.clientSecret) : oidc.None(),
        {
          [oidc.customFetch]: fetchThroughPolicy,
          timeout: TIMEOUT_MS / 1000,
          // openid-client trusts an ID token from the token endpoint on TLS alone unless told to
          // check its signature against the issuer's JWKS (OIDC Core 3.1.3.7 makes that optional):
          // we always check it, and a plain-http loopback IdP has no TLS to lean on anyway. Plain
          // http only to a loopback issuer (a local IdP for development and tests).
          execute: [oidc.enableNonRepudiationChecks, ...(issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname) ? [oidc.allowInsecureRequests] : [])],
        },
      )
      // A failed discovery is not cached: the next sign-in tries again.
      entry.catch(() => cache.delete(key))
      if (cache.size > 100) cache.delete(cache.keys().next().value!)
      cache.set(key, entry)
    }
    return entry
  }

  return {
    async authorizationUrl(provider, params) {
      const config = await configurationFor(provider)
      return oidc.buildAuthorizationUrl(config, {
        redirect_uri: params.redirectUri,
        scope: provider.scopes.join(' '),
        state: params.state,
        nonce: params.nonce,
        code_challenge: params.codeChallenge,
        code_challenge_method: 'S256',
      })
    },

    async exchange(provider, callbackUrl, checks) {
      const config = await configurationFor(provider)
      const tokens = await oidc.authorizationCodeGrant(
        config,
        callbackUrl,
        { pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state, expectedNonce: checks.nonce, idTokenExpected: true },
      )
      const claims = tokens.claims()
      if (!claims) throw Object.assign(new Error('the token endpoint answered without an ID token'), { code: 'OAUTH_INVALID_RESPONSE' })
      return { ...claims }
    },
  }
}

export const pkce = {
  verifier: () => oidc.randomPKCECodeVerifier(),
  challenge: (verifier: string) => oidc.calculatePKCECodeChallenge(verifier),
  state: () => oidc.randomState(),
  nonce: () => oidc.randomNonce(),
}
