import { createHmac, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../../http/errors.js'

/**
 * The browser session: the console (and the SSO callback) keep the user access token in an HttpOnly
 * cookie, and a CSRF token beside it that scripts on our own origin can read and echo back in
 * `x-csrf-token`. The CSRF token is derived from the session token, so any node can check it
 * without server state (several nodes may share one database).
 */
export const SESSION_COOKIE = 'gatehouse_session'
export const CSRF_COOKIE = 'gatehouse_csrf'
export const CSRF_HEADER = 'x-csrf-token'

/** base64url(HMAC-SHA256(key = session token, 'gatehouse-csrf')). */
export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('gatehouse-csrf').digest('base64url')
}

export interface SessionCookieInput {
  token: string
  /** When the token expires: the cookies expire with it. */
  expiresAt: string | Date
  /** Set `Secure` (the request came over HTTPS, directly or through a trusted proxy). */
  secure: boolean
}

export function setSessionCookies(reply: FastifyReply, { token, expiresAt, secure }: SessionCookieInput): { csrfToken: string } {
  const expires = new Date(expiresAt)
  const csrfToken = csrfTokenFor(token)
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', path: '/', secure, expires })
  // Readable by our scripts on purpose: they echo it in x-csrf-token. Another origin cannot read it.
  reply.setCookie(CSRF_COOKIE, csrfToken, { httpOnly: false, sameSite: 'lax', path: '/', secure, expires })
  return { csrfToken }
}

export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' })
  reply.clearCookie(CSRF_COOKIE, { path: '/' })
}

/** Whether the request reached us over HTTPS (Fastify reads x-forwarded-proto only when the proxy is trusted). */
export const isSecureRequest = (request: FastifyRequest): boolean => request.protocol === 'https'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * The session token of a cookie-authenticated request, after the CSRF check; null when the request
 * carries no session cookie. Only called when there is no Authorization header: a bearer token wins.
 */
export function sessionTokenOf(request: FastifyRequest): string | null {
  const token = request.cookies?.[SESSION_COOKIE]
  if (!token) return null
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers[CSRF_HEADER]
    const header = Array.isArray(sent) ? sent[0] : sent
    if (!header) {
      throw new AppError('csrf_failed', `a request made with the session cookie must send the '${CSRF_HEADER}' header (the value of the '${CSRF_COOKIE}' cookie)`)
    }
    const expected = Buffer.from(csrfTokenFor(token))
    const given = Buffer.from(header)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AppError('csrf_failed', `the '${CSRF_HEADER}' header does not match this session; reload the console to pick up the current '${CSRF_COOKIE}' cookie`)
    }
  }
  return token
}
