import { APIConnectionError, APIConnectionTimeoutError, APIError, errorForStatus } from './errors.js'

export interface TransportOptions {
  baseUrl: string
  /** Headers for every request, asked again each time (a token that changes, a CSRF token that appears later). */
  headers: (method: string) => Record<string, string> | Promise<Record<string, string>>
  /** Per request, in milliseconds. */
  timeout: number
  /** Retries of connection errors, 408, 429 and 5xx answers, with backoff. */
  maxRetries: number
  fetch: typeof fetch
  /** `credentials` of every fetch: a browser console sends its session cookie with `include` or `same-origin`. */
  credentials?: RequestCredentials
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | string[] | undefined>
  body?: unknown
  /** Overrides the client's timeout for a request meant to wait (long-poll). */
  timeout?: number
  /** Sent as well as the client's own headers. */
  headers?: Record<string, string>
  /** The body is read as a stream afterwards: the timeout covers only the wait for the answer's headers. */
  stream?: boolean
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504])
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Exponential backoff with jitter, or what the server asked for in Retry-After (capped at a minute). */
function retryDelay(attempt: number, retryAfter: string | null): number {
  const asked = retryAfter ? Number(retryAfter) : Number.NaN
  if (Number.isFinite(asked) && asked >= 0) return Math.min(asked * 1000, 60_000)
  return Math.min(500 * 2 ** attempt, 8_000) * (0.75 + Math.random() * 0.5)
}

/**
 * In a browser the console may say `baseUrl: ''` or `'/'` (the page's own origin); `new URL` needs an
 * absolute base, so a relative one is resolved against `location.origin`.
 */
export function absoluteBase(baseUrl: string): string {
  const location = (globalThis as { location?: { origin?: string } }).location
  if (/^[a-z][a-z0-9+.-]*:/i.test(baseUrl) || typeof location?.origin !== 'string') return baseUrl
  return new URL(baseUrl || '/', location.origin).toString()
}

function buildUrl(baseUrl: string, path: string, query: RequestOptions['query']): string {
  const base = absoluteBase(baseUrl)
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`)
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item))
  }
  return url.toString()
}

export function createTransport(options: TransportOptions) {
  /** The answer of a successful request, unread: retries and typed errors as for `request`. */
  async function send(method: string, path: string, requestOptions: RequestOptions = {}): Promise<Response> {
    const url = buildUrl(options.baseUrl, path.replace(/^\//, ''), requestOptions.query)
    const timeout = requestOptions.timeout ?? options.timeout
    for (let attempt = 0; ; attempt += 1) {
      let response: Response
      // Outside the try: a failure to make the headers (a refused vault token) is its own error, not a connection error.
      const headers = await options.headers(method)
      // A streamed body may take as long as it takes: its timeout covers only the wait for the headers.
      const abort = new AbortController()
      const timer = requestOptions.stream ? setTimeout(() => abort.abort(new DOMException(`no answer within ${timeout} ms`, 'TimeoutError')), timeout) : undefined
      try {
        response = await options.fetch(url, {
          method,
          headers: {
            ...headers,
            accept: 'application/json',
            ...(requestOptions.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...requestOptions.headers,
          },
          body: requestOptions.body !== undefined ? JSON.stringify(requestOptions.body) : undefined,
          signal: requestOptions.stream ? abort.signal : AbortSignal.timeout(timeout),
          ...(options.credentials ? { credentials: options.credentials } : {}),
        })
      } catch (error) {
        clearTimeout(timer)
        const timedOut = (error as Error).name === 'TimeoutError'
        if (attempt < options.maxRetries) {
          await sleep(retryDelay(attempt, null))
          continue
        }
        throw timedOut
          ? new APIConnectionTimeoutError(`${method} ${url} did not answer within ${timeout} ms`, error)
          : new APIConnectionError(`could not reach ${url}: ${(error as Error).message}`, error)
      }
      clearTimeout(timer)
      if (response.ok) return response
      if (RETRYABLE.has(response.status) && attempt < options.maxRetries) {
        await response.body?.cancel()
        await sleep(retryDelay(attempt, response.headers.get('retry-after')))
        continue
      }
      let body: unknown = null
      try {
        body = await response.json()
      } catch {
        body = null
      }
      throw errorForStatus(response.status, body, response.headers.get('x-request-id') ?? undefined) satisfies APIError
    }
  }

  async function request<T>(method: string, path: string, requestOptions: RequestOptions = {}): Promise<T> {
    const response = await send(method, path, requestOptions)
    if (response.status === 204) return undefined as T
    return (await response.json()) as T
  }
  return Object.assign(request, { send })
}

export type Request = ReturnType<typeof createTransport>
