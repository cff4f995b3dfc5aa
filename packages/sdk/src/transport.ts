import { APIConnectionError, APIConnectionTimeoutError, APIError, errorForStatus } from './errors.js'

export interface TransportOptions {
  baseUrl: string
  token: string
  /** Per request, in milliseconds. */
  timeout: number
  /** Retries of connection errors, 408, 429 and 5xx answers, with backoff. */
  maxRetries: number
  fetch: typeof fetch
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | string[] | undefined>
  body?: unknown
  /** Overrides the client's timeout for a request meant to wait (long-poll). */
  timeout?: number
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504])
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Exponential backoff with jitter, or what the server asked for in Retry-After (capped at a minute). */
function retryDelay(attempt: number, retryAfter: string | null): number {
  const asked = retryAfter ? Number(retryAfter) : Number.NaN
  if (Number.isFinite(asked) && asked >= 0) return Math.min(asked * 1000, 60_000)
  return Math.min(500 * 2 ** attempt, 8_000) * (0.75 + Math.random() * 0.5)
}

function buildUrl(baseUrl: string, path: string, query: RequestOptions['query']): string {
  const url = new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`)
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item))
  }
  return url.toString()
}

export function createTransport(options: TransportOptions) {
  return async function request<T>(method: string, path: string, requestOptions: RequestOptions = {}): Promise<T> {
    const url = buildUrl(options.baseUrl, path.replace(/^\//, ''), requestOptions.query)
    const timeout = requestOptions.timeout ?? options.timeout
    for (let attempt = 0; ; attempt += 1) {
      let response: Response
      try {
        response = await options.fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${options.token}`,
            accept: 'application/json',
            ...(requestOptions.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: requestOptions.body !== undefined ? JSON.stringify(requestOptions.body) : undefined,
          signal: AbortSignal.timeout(timeout),
        })
      } catch (error) {
        const timedOut = (error as Error).name === 'TimeoutError'
        if (attempt < options.maxRetries) {
          await sleep(retryDelay(attempt, null))
          continue
        }
        throw timedOut
          ? new APIConnectionTimeoutError(`${method} ${url} did not answer within ${timeout} ms`, error)
          : new APIConnectionError(`could not reach ${url}: ${(error as Error).message}`, error)
      }
      if (response.ok) {
        if (response.status === 204) return undefined as T
        return (await response.json()) as T
      }
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
}

export type Request = ReturnType<typeof createTransport>
