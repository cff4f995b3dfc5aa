import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as jose from 'jose'
import Provider from 'oidc-provider'

/** A user of the test identity provider; `groups` and `email_verified` are claims. */
export interface IdpUser {
  email: string
  email_verified: boolean
  name?: string
  groups?: string[]
  [claim: string]: unknown
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/**
 * A real OpenID provider (oidc-provider), in-process on 127.0.0.1. Its development interactions show
 * a login form that accepts any password; the login names the account (a key of `users`). Consent
 * is given at once, and scope claims go into the ID token (conformIdTokenClaims: false).
 */
export async function startTestIdp(options: { redirectUris: string[]; users: Record<string, IdpUser>; clientId?: string; clientSecret?: string }) {
  const server = createServer()
  const port = await listen(server)
  const issuer = `http://127.0.0.1:${port}`
  const users = options.users
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId ?? 'gatehouse',
        client_secret: options.clientSecret ?? 'gatehouse-secret',
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    async findAccount(_ctx, id) {
      const user = users[id]
      if (!user) return undefined
      return { accountId: id, claims: async () => ({ sub: id, ...users[id] }) }
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'], roles: ['gatehouse_role'] },
    scopes: ['openid', 'email', 'profile', 'groups', 'roles'],
    conformIdTokenClaims: false,
    cookies: { keys: ['test-only-cookie-key'] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId)
      if (grantId) return ctx.oidc.provider.Grant.find(grantId)
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId })
      grant.addOIDCScope('openid email profile groups roles')
      await grant.save()
      return grant
    },
  })
  // Quiet: a refused request (expected in tests) is not an error worth printing.
  provider.on('server_error', () => undefined)
  server.on('request', provider.callback())
  return {
    issuer,
    provider,
    users,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

export type TokenForge = (input: { issuer: string; clientId: string; nonce: string; now: number }) => Promise<string>

/**
 * A tiny OpenID provider whose token endpoint answers whatever ID token `forge` makes: for the
 * refusals a real provider never produces (wrong issuer, audience, nonce, expired, foreign key,
 * unsigned). Discovery, JWKS and the authorize redirect are real HTTP, so the relying party under test
 * does everything as it would against a real provider.
 */
export async function startForgingIdp() {
  const trusted = await jose.generateKeyPair('RS256', { extractable: true })
  const foreign = await jose.generateKeyPair('RS256', { extractable: true })
  const trustedJwk = { ...(await jose.exportJWK(trusted.publicKey)), kid: 'trusted', alg: 'RS256', use: 'sig' }
  const server = createServer()
  const port = await listen(server)
  const issuer = `http://127.0.0.1:${port}`
  const nonces = new Map<string, string>()
  let forge: TokenForge = async () => {
    throw new Error('set a forge first')
  }
  let clientId = 'gatehouse'
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify(body))
  }
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer)
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
      })
    }
    if (url.pathname === '/jwks') return json(res, 200, { keys: [trustedJwk] })
    if (url.pathname === '/authorize') {
      const code = `code-${Math.random().toString(36).slice(2)}`
      nonces.set(code, url.searchParams.get('nonce') ?? '')
      clientId = url.searchParams.get('client_id') ?? clientId
      const back = new URL(url.searchParams.get('redirect_uri')!)
      back.searchParams.set('code', code)
      back.searchParams.set('state', url.searchParams.get('state') ?? '')
      res.writeHead(302, { location: back.toString() })
      return res.end()
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let raw = ''
      req.on('data', (chunk) => (raw += chunk))
      req.on('end', () => {
        const code = new URLSearchParams(raw).get('code') ?? ''
        const nonce = nonces.get(code)
        if (nonce === undefined) return json(res, 400, { error: 'invalid_grant' })
        nonces.delete(code)
        forge({ issuer, clientId, nonce, now: Math.floor(Date.now() / 1000) }).then(
          (idToken) => json(res, 200, { access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken }),
          (error) => json(res, 500, { error: 'server_error', error_description: String(error) }),
        )
      })
      return
    }
    res.writeHead(404).end()
  })

  const claimsFor = (input: { issuer: string; clientId: string; nonce: string; now: number }) => ({
    iss: input.issuer,
    aud: input.clientId,
    sub: 'forged-subject',
    nonce: input.nonce,
    iat: input.now,
    exp: input.now + 300,
    email: 'forged@example.com',
    email_verified: true,
  })
  const sign = (claims: Record<string, unknown>, key: CryptoKey = trusted.privateKey, kid = 'trusted') =>
    new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(key)

  return {
    issuer,
    /** Signs a valid token, then lets `change` spoil one claim. */
    withClaims: (change: (claims: Record<string, unknown>) => Record<string, unknown>): TokenForge => async (input) => sign(change(claimsFor(input))),
    signedByForeignKey: (kid: string): TokenForge => async (input) => sign(claimsFor(input), foreign.privateKey, kid),
    unsigned: (): TokenForge => async (input) => new jose.UnsecuredJWT(claimsFor(input)).encode(),
    setForge(next: TokenForge) {
      forge = next
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** Cookies per host and port (paths ignored: every test cookie is sent back to its origin). */
export class CookieJar {
  private readonly jar = new Map<string, Map<string, string>>()

  header(url: string): string {
    const cookies = this.jar.get(new URL(url).host)
    return cookies ? [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') : ''
  }

  get(url: string, name: string): string | undefined {
    return this.jar.get(new URL(url).host)?.get(name)
  }

  store(url: string, response: Response): void {
    const host = new URL(url).host
    const cookies = this.jar.get(host) ?? new Map<string, string>()
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || attributes.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now())
      if (expired || value === '') cookies.delete(name)
      else cookies.set(name, value)
    }
    this.jar.set(host, cookies)
  }
}

export interface Hop {
  url: string
  status: number
  location: string | null
  body: string
  setCookies: string[]
}

/** One request with the jar's cookies, no redirect followed. */
export async function hop(jar: CookieJar, url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Hop> {
  const headers: Record<string, string> = { cookie: jar.header(url) }
  let body: string | undefined
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(init.form).toString()
  }
  const response = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' })
  jar.store(url, response)
  const location = response.headers.get('location')
  return { url, status: response.status, location: location ? new URL(location, url).toString() : null, body: await response.text(), setCookies: response.headers.getSetCookie() }
}

/**
 * Follows redirects like a browser until one leads to `stopAt` (whose URL starts with it) or an
 * answer is not a redirect. Returns every hop; the last is where it stopped (not fetched when stopped).
 */
export async function follow(jar: CookieJar, url: string, stopAt: (url: string) => boolean): Promise<Hop[]> {
  const hops: Hop[] = []
  let next: string | null = url
  for (let i = 0; next && i < 20; i++) {
    if (i > 0 && stopAt(next)) {
      hops.push({ url: next, status: 0, location: null, body: '', setCookies: [] })
      return hops
    }
    const answer = await hop(jar, next)
    hops.push(answer)
    next = answer.status >= 300 && answer.status < 400 ? answer.location : null
  }
  return hops
}

/**
 * Drives a sign-in at the test IdP: from the Gatehouse start URL to the IdP's login form, logs in as
 * `login`, and returns the URL the IdP sends the browser back to (the Gatehouse callback), unvisited.
 */
export async function loginAtIdp(jar: CookieJar, startUrl: string, idpIssuer: string, login: string): Promise<string> {
  const toForm = await follow(jar, startUrl, () => false)
  const form = toForm[toForm.length - 1]!
  if (!form.url.startsWith(`${idpIssuer}/interaction/`)) throw new Error(`expected the IdP login form, got ${form.status} at ${form.url}: ${form.body.slice(0, 300)}`)
  const submitted = await hop(jar, form.url, { form: { prompt: 'login', login, password: 'any' } })
  const back = await follow(jar, submitted.location!, (url) => !url.startsWith(idpIssuer))
  const last = back[back.length - 1]!
  if (last.url.startsWith(idpIssuer)) throw new Error(`the IdP did not send the browser back: ${last.status} ${last.body.slice(0, 300)}`)
  return last.url
}
