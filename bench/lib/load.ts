import autocannon from 'autocannon'
import { Worker } from 'node:worker_threads'

export interface LoadOptions {
  /** Several URLs (servers): autocannon spreads the connections over them in turn. */
  url: string | string[]
  method: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string
  connections: number
  seconds: number
  /** Each answer must be exactly this body; any other counts as a failure. */
  expectBody?: string
  /** Requests per second across all connections (a fixed rate); default as fast as answered. */
  overallRate?: number
}

export interface LoadResult {
  requests: number
  seconds: number
  /** Completed requests per second over the whole run. */
  perSecond: number
  /** Milliseconds. */
  mean: number
  p50: number
  p99: number
  /** Connection errors, timeouts, non-2xx answers and (with expectBody) other bodies: any of them voids the run. */
  failures: number
}

/**
 * Fires `connections` concurrent keep-alive connections at one URL for `seconds`. The generator runs
 * in a worker thread: on the main thread it would take event-loop time from the server it measures
 * (both servers under test live in this process).
 */
export async function fire(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    // autocannon takes an array of URLs (its types say string only).
    url: options.url as string,
    method: options.method,
    headers: options.headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
    connections: options.connections,
    duration: options.seconds,
    workers: 1,
    timeout: 10,
    ...(options.expectBody !== undefined ? { expectBody: options.expectBody } : {}),
    ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
  })
  const requests = result.requests.total
  return {
    requests,
    seconds: result.duration,
    perSecond: requests / result.duration,
    mean: result.latency.mean,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx + (result.mismatches ?? 0),
  }
}

/** One request after another on one keep-alive connection, from a thread that stays up between runs. */
export interface SequentialLoad {
  run(options: Omit<LoadOptions, 'connections' | 'method' | 'url'> & { url: string }): Promise<LoadResult>
  close(): Promise<void>
}

/**
 * For many short measurements on one connection (scenario 2 takes 27 of them per store): autocannon
 * rounds a run up to whole seconds and starts a worker per run, which would make the short
 * measurements most of the scenario's time. This thread starts once and runs POSTs back to back,
 * timing each, off the main thread where the servers under test live.
 */
export function startSequentialLoad(): SequentialLoad {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads')
     const http = require('node:http')
     const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
     const post = (url, headers, body) => new Promise((resolve, reject) => {
       const req = http.request(url, { method: 'POST', headers, agent }, (res) => {
         res.resume()
         res.on('end', () => resolve(res.statusCode))
         res.on('error', reject)
       })
       req.on('error', reject)
       req.end(body)
     })
     parentPort.on('message', async ({ url, headers, body, seconds }) => {
       const latencies = []
       let failures = 0
       const started = performance.now()
       const until = started + seconds * 1000
       do {
         const at = performance.now()
         try {
           const status = await post(url, headers, body)
           if (status < 200 || status > 299) failures += 1
         } catch {
           failures += 1
         }
         latencies.push(performance.now() - at)
       } while (performance.now() < until)
       const elapsed = (performance.now() - started) / 1000
       latencies.sort((a, b) => a - b)
       const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
       parentPort.postMessage({ requests: latencies.length, seconds: elapsed, perSecond: latencies.length / elapsed,
         mean: latencies.reduce((sum, ms) => sum + ms, 0) / latencies.length, p50: at(0.5), p99: at(0.99), failures })
     })`,
    { eval: true },
  )
  worker.unref()
  let queue: Promise<unknown> = Promise.resolve()
  return {
    run(options) {
      const next = queue.then(
        () =>
          new Promise<LoadResult>((resolve, reject) => {
            const onMessage = (result: LoadResult) => {
              worker.off('error', onError)
              resolve(result)
            }
            const onError = (error: Error) => {
              worker.off('message', onMessage)
              reject(error)
            }
            worker.once('message', onMessage)
            worker.once('error', onError)
            worker.postMessage({ url: options.url, headers: options.headers, body: options.body ?? '', seconds: options.seconds })
          }),
      )
      queue = next.catch(() => undefined)
      return next
    },
    close: async () => {
      await worker.terminate()
    },
  }
}
