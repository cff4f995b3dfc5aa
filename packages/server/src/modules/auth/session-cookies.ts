import { createHmac } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { appendCookie } from '../../http/cookies.js'

/**
 * Minimal version of the console branch's session-cookies.ts, with the same contract (the lead keeps
 * the console's at merge): `gatehouse_session` = the user access token, HttpOnly, SameSite=Lax,
 * Path=/, Secure over HTTPS; `gatehouse_csrf` (readable by scripts) = base64url(HMAC-SHA256(key =
 * token, 'gatehouse-csrf')).
 */
export const SESSION_COOKIE = 'gatehouse_session'
export const CSRF_COOKIE = 'gatehouse_csrf'

export function csrfTokenFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('gatehouse-csrf').digest('base64url')
}

export interface SessionCookieInput {
  token: string
  expiresAt: string | Date
  secure: boolean
}

export function setSessionCookies(reply: FastifyReply, { token, expiresAt, secure }: SessionCookieInput): { csrfToken: string } {
  const expires = new Date(expiresAt)
  const csrfToken = csrfTokenFor(token)
  appendCookie(reply, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', path: '/', secure, expires })
  appendCookie(reply, CSRF_COOKIE, csrfToken, { httpOnly: false, sameSite: 'lax', path: '/', secure, expires })
  return { csrfToken }
}

export const isSecureRequest = (request: FastifyRequest): boolean => request.protocol === 'https'
