import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SsoSignInOptions {
  /** The Gatehouse server, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string
  /** The space slug (default `default`). */
  space?: string
  /** The SSO provider's id in that space (see `GET /v1/spaces/{space}/sso/sign-in-options`). */
  provider: string
  /**
   * Opens the sign-in URL in the user's browser. Not done for you: a CLI decides how (print it, or
   * spawn `xdg-open`/`open`/`start`). The promise it returns is not awaited for the result.
   */
  openBrowser: (url: string) => void | Promise<void>
  /** How long to wait for the browser to come back (default 5 minutes). */
  timeoutMs?: number
  /** Abort the wait early. */
  signal?: AbortSignal
}

/** The user access token the sign-in yields, as the server answers it (shown once). */
export interface SsoSignInResult {
  token: string
  id: string
  subjectId: string
  expiresAt: string | null
  [field: string]: unknown
}

export class SsoSignInError extends Error {
  constructor(message: string, readonly code: string) {
    super(message)
    this.name = 'SsoSignInError'
  }
}

const PAGE = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body>`

/**
 * Signs a CLI or script in through the space's identity provider with a loopback redirect (RFC 8252):
 * listens on 127.0.0.1 on a free port, opens Gatehouse's SSO start URL with a PKCE challenge, receives
 * a one-time code at the loopback when the browser comes back, and exchanges it with the verifier
 * for a `ghu_` user access token. The code is useless without the verifier, which never leaves
 * this process.
 */
export async function signInWithSso(options: SsoSignInOptions): Promise<SsoSignInResult> {
  const space = options.space ?? 'default'
  const base = options.baseUrl.replace(/\/+$/, '')
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const state = randomBytes(16).toString('base64url')

  let settle!: { resolve: (code: string) => void; reject: (error: Error) => void }
  const received = new Promise<string>((resolve, reject) => (settle = { resolve, reject }))
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (url.pathname !== '/callback') {
      res.writeHead(404).end()
      return
    }
    const code = url.searchParams.get('code')
    if (url.searchParams.get('state') !== state || !code) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE('Sign-in failed', 'This answer does not belong to the sign-in your terminal started.'))
      settle.reject(new SsoSignInError('the loopback received a code for another sign-in (state mismatch)', 'bad_state'))
      return
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE('Signed in', 'You can close this tab and return to your terminal.'))
    settle.resolve(code)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`
  const timer = setTimeout(() => settle.reject(new SsoSignInError('timed out waiting for the browser to come back', 'timeout')), options.timeoutMs ?? 5 * 60_000)
  const onAbort = () => settle.reject(new SsoSignInError('sign-in aborted', 'aborted'))
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const start = new URL(`${base}/v1/spaces/${encodeURIComponent(space)}/sso/${encodeURIComponent(options.provider)}/start`)
    start.searchParams.set('cli_redirect', redirectUri)
    start.searchParams.set('code_challenge', challenge)
    start.searchParams.set('code_challenge_method', 'S256')
    start.searchParams.set('cli_state', state)
    void Promise.resolve(options.openBrowser(start.toString())).catch((error: unknown) => settle.reject(error instanceof Error ? error : new Error(String(error))))
    const code = await received
    const response = await fetch(`${base}/v1/spaces/${encodeURIComponent(space)}/sso/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, code_verifier: verifier, redirect_uri: redirectUri }),
    })
    const body = (await response.json().catch(() => null)) as (SsoSignInResult & { error?: { code: string; message: string } }) | null
    if (!response.ok || !body || typeof body.token !== 'string') {
      throw new SsoSignInError(`exchanging the code failed: ${body?.error?.message ?? `HTTP ${response.status}`}`, body?.error?.code ?? 'exchange_failed')
    }
    return body
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
