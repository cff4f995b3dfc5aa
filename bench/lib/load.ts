import autocannon from 'autocannon'

export interface LoadOptions {
  url: string
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string
  connections: number
  seconds: number
}

export interface LoadResult {
  requests: number
  seconds: number
  /** Completed requests per second over the whole run. */
  perSecond: number
  /** Milliseconds. */
  p50: number
  p99: number
  /** Connection errors, timeouts and non-2xx answers: any of them voids the run. */
  failures: number
}

/**
 * Fires `connections` concurrent keep-alive connections at one URL for `seconds`. The generator runs
 * in a worker thread: on the main thread it would take event-loop time from the server it measures
 * (both servers under test live in this process).
 */
export async function fire(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: options.method,
    headers: options.headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
    connections: options.connections,
    duration: options.seconds,
    workers: 1,
    timeout: 10,
  })
  const requests = result.requests.total
  return {
    requests,
    seconds: result.duration,
    perSecond: requests / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx,
  }
}
