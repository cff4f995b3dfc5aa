import type { FastifyReply, FastifyRequest } from 'fastify'

/** The cookies a request carries, parsed from its Cookie header (first value of a name wins). */
export function requestCookies(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq < 1) continue
    const name = part.slice(0, eq).trim()
    if (name in out) continue
    try {
      out[name] = decodeURIComponent(part.slice(eq + 1).trim())
    } catch {
      // A value that is not valid percent-encoding is not one of ours.
    }
  }
  return out
}

export interface CookieOptions {
  httpOnly: boolean
  sameSite: 'lax' | 'strict'
  path: string
  secure: boolean
  expires?: Date
  maxAgeSeconds?: number
}

/** Adds one Set-Cookie header, keeping any already set on the reply. */
export function appendCookie(reply: FastifyReply, name: string, value: string, options: CookieOptions): void {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${options.path}`, `SameSite=${options.sameSite === 'lax' ? 'Lax' : 'Strict'}`]
  if (options.httpOnly) parts.push('HttpOnly')
  if (options.secure) parts.push('Secure')
  if (options.expires) parts.push(`Expires=${options.expires.toUTCString()}`)
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`)
  const existing = reply.getHeader('set-cookie')
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)]
  reply.header('set-cookie', [...list, parts.join('; ')])
}
