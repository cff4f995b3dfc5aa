import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { Agent, errors as undiciErrors } from 'undici'
import { decideAddress, decideHost, type OutboundPolicy } from './outbound-policy.js'
import { redactUrl } from './redact-url.js'

/**
 * What a caller may learn of a failed outbound request. `unreachable` covers everything that is not
 * an HTTP answer — refused, reset, a non-HTTP server, TLS, DNS, the outbound policy — so that an
 * admin cannot tell a closed port from an open one; the cause goes to the server log only.
 */
export type OutboundFailureKind = 'unreachable' | 'timeout' | 'too_large'

export class OutboundFailure extends Error {
  constructor(
    readonly kind: OutboundFailureKind,
    /** For the server log only. */
    readonly detail: string,
  ) {
    super(kind)
    this.name = 'OutboundFailure'
  }
}

export interface OutboundLogger {
  warn(obj: object, msg: string): void
}

export interface OutboundRequest {
  /** For log lines: what the call was for (`external_acl`, `delegate`, `webhook`). */
  purpose: string
  url: string
  headers: Record<string, string>
  /** POST unless told (SSO discovery and JWKS are GETs, which carry no body). */
  method?: 'GET' | 'POST'
  body?: string
  timeoutMs: number
  /** The most bytes of answer read; a larger answer is cut off (`too_large`). 0 drops the answer unread. */
  maxBytes: number
}

export interface OutboundResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** Refused at connect time by the outbound policy. */
class OutboundRefusedError extends Error {
  readonly code = 'EOUTBOUNDPOLICY'
}

/** Every address of a name, as `dns.lookup(name, { all: true })` gives them. Tests pass their own. */
export type Resolver = (hostname: string, options: LookupOptions, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

const systemResolver: Resolver = (hostname, options, callback) => dnsLookup(hostname, { ...options, all: true }, callback)

/**
 * A DNS lookup that checks every address a name resolves to, and refuses before connecting if any
 * is refused: the check is on the address actually connected to, so DNS rebinding does not help.
 */
export function guardedLookup(policy: OutboundPolicy, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options, (error, addresses) => {
      if (error) return callback(error, '', undefined)
      if (addresses.length === 0) return callback(new OutboundRefusedError(`${hostname} resolved to no address`), '', undefined)
      for (const { address } of addresses) {
        const decision = decideAddress(address, policy, hostname)
        if (!decision.allowed) return callback(new OutboundRefusedError(`outbound policy: ${hostname} resolved to ${address}: ${decision.message}`), '', undefined)
      }
      if (options.all) return callback(null, addresses)
      return callback(null, addresses[0]!.address, addresses[0]!.family)
    })
  }
}

function causeOf(error: unknown): string {
  const err = error as { code?: string; message?: string; cause?: { code?: string; message?: string } } | null
  const own = `${err?.code ? `${err.code}: ` : ''}${err?.message ?? String(error)}`
  const cause = err?.cause ? ` (${err.cause.code ?? ''} ${err.cause.message ?? ''})` : ''
  return `${own}${cause}`.slice(0, 500)
}

/**
 * The one way out of Gatehouse. Every request is checked twice: its URL's host (literal IPs never
 * reach a DNS lookup) and, at connect time, every address its name resolves to. Redirects are not
 * followed. Answers are read as a stream and cut off at `maxBytes`, so a huge answer never sits in
 * memory.
 */
export function createOutboundClient(options: { policy: OutboundPolicy; logger?: OutboundLogger; connectionsPerOrigin?: number; resolve?: Resolver }) {
  const { policy, logger } = options
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 16,
    keepAliveTimeout: 30_000,
    connect: { lookup: guardedLookup(policy, options.resolve) },
  })
  let closing: Promise<void> | null = null

  function fail(request: OutboundRequest, kind: OutboundFailureKind, detail: string): never {
    logger?.warn({ purpose: request.purpose, url: redactUrl(request.url), kind, cause: detail }, 'outbound request failed')
    throw new OutboundFailure(kind, detail)
  }

  async function send(request: OutboundRequest): Promise<OutboundResponse> {
    let url: URL
    try {
      url = new URL(request.url)
    } catch {
      return fail(request, 'unreachable', 'not a valid URL')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(request, 'unreachable', `scheme ${url.protocol} is not allowed`)
    if (url.username !== '' || url.password !== '') return fail(request, 'unreachable', 'a URL with a user name or password is not allowed')
    const host = decideHost(url.hostname, policy)
    if (!host.allowed) return fail(request, 'unreachable', `outbound policy: ${url.hostname}: ${host.message}`)

    const signal = AbortSignal.timeout(request.timeoutMs)
    const timedOut = (error: unknown) =>
      signal.aborted || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError || (error as Error | null)?.name === 'TimeoutError'
    let response
    try {
      response = await agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method ?? 'POST',
        headers: request.headers,
        body: request.method === 'GET' ? null : (request.body ?? ''),
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
        signal,
      })
    } catch (error) {
      return fail(request, timedOut(error) ? 'timeout' : 'unreachable', causeOf(error))
    }
    const { statusCode, headers } = response
    // Destroying a body makes it emit an abort error; nobody waits for it any more.
    const discard = () => response.body.on('error', () => undefined).destroy()
    if (request.maxBytes === 0) {
      // A short answer is drained so the connection can be reused; a long one is cut off.
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined)
      return { status: statusCode, headers, body: Buffer.alloc(0) }
    }
    const declared = Number(headers['content-length'])
    if (Number.isFinite(declared) && declared > request.maxBytes) {
      discard()
      return fail(request, 'too_large', `content-length ${declared} is over ${request.maxBytes} bytes`)
    }
    const chunks: Buffer[] = []
    let size = 0
    try {
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length
        // Stop reading at once: the socket closes and the sender's next write fails.
        if (size > request.maxBytes) {
          discard()
          return fail(request, 'too_large', `the answer went over ${request.maxBytes} bytes`)
        }
        chunks.push(chunk as Buffer)
      }
    } catch (error) {
      if (error instanceof OutboundFailure) throw error
      return fail(request, timedOut(error) ? 'timeout' : 'unreachable', causeOf(error))
    }
    return { status: statusCode, headers, body: Buffer.concat(chunks) }
  }

  return {
    policy,
    send,
    /** Waits for requests in flight, then closes idle connections. Idempotent. */
    close: (): Promise<void> => (closing ??= agent.close().catch(() => undefined)),
  }
}

export type OutboundClient = ReturnType<typeof createOutboundClient>
