import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { StoreKind } from '../../packages/server/src/db/db.js'
import { formatNumber, MiB, round } from './data.js'
import { expectedBodies, prepareHotPaths, vaultToken } from './hot-paths.js'
import { fire } from './load.js'
import { startNodes, type RssSample } from './nodes.js'
import { progressBar } from './progress.js'
import { machine, revision } from './report.js'
import { startStack } from './stack.js'

/** The goal: RSS after the warm-up stays within ±10% to the end. */
export const RSS_GOAL = 0.1
/** Fixed rates, well under what one node answers on 2 shared cores, so the server keeps up throughout. */
export const SOAK_RATES = { access: 50, find: 10 }
/** Vault tokens live 300 s: the load runs in rounds of this long, each with a fresh one. */
const ROUND_SECONDS = 30

export interface SoakOptions {
  store: StoreKind
  adminUrl: string | null
  seconds: number
  /** Tickets in the vault model (its selective find is one customer's 10). */
  rows: number
  fillerGrants: number
  outDir: string
  progress?: boolean
  log?: (line: string) => void
}

export interface SoakReport {
  command: string
  revision: ReturnType<typeof revision>
  startedAt: string
  store: StoreKind
  machine: ReturnType<typeof machine>
  seconds: number
  warmupSeconds: number
  rates: typeof SOAK_RATES
  requests: { access: number; find: number }
  errors: { access: number; find: number }
  /** MiB: the lowest sample of the first and of the last third after the warm-up; growth between them (judged), and between their highest. */
  rss: { afterWarmup: number; end: number; peakAfterWarmup: number; growth: number; topGrowth: number }
  /**
   * MiB: V8's heapUsed read the same way (lowest of the first and last thirds). A leak of JavaScript
   * objects lifts it; RSS moving while it stays flat is the allocator or PGlite's WebAssembly memory.
   */
  heap: { afterWarmup: number; end: number; peakAfterWarmup: number; growth: number; topGrowth: number }
  /** MiB, one a second. */
  curve: number[]
  /** MiB of heapUsed, one a second, at the same instants as `curve`. */
  heapCurve: number[]
  /** MiB of V8's committed heap and of `external` (Buffers and the like), same instants: where RSS beyond the used heap sits. */
  heapTotalCurve: number[]
  externalCurve: number[]
  met: { rss: boolean; errors: boolean }
}


/**
 * RSS growth after a warm-up, from a server's samples (bytes, one a second) while the load ran.
 * V8's heap makes the RSS a sawtooth (it climbs between major collections, then drops), so the run
 * after the warm-up is cut in thirds and the first and last compared by their lowest samples — what
 * the collections leave, which a leak lifts — and, beside it, by their highest. Pure, tested beside.
 */
export function rssGrowth<S extends Pick<RssSample, 'at' | 'rss'>>(
  samples: S[],
  startedAt: number,
  warmupSeconds: number,
  endedAt = Number.POSITIVE_INFINITY,
  value: (sample: S) => number = (sample) => sample.rss,
) {
  const after = samples.filter((sample) => sample.at >= startedAt + warmupSeconds * 1000 && sample.at <= endedAt).map(value)
  if (after.length < 3) throw new Error(`too few RSS samples after the warm-up (${after.length})`)
  const third = Math.max(1, Math.floor(after.length / 3))
  const first = after.slice(0, third)
  const last = after.slice(-third)
  const floor = { first: Math.min(...first), last: Math.min(...last) }
  const top = { first: Math.max(...first), last: Math.max(...last) }
  return { afterWarmup: floor.first, end: floor.last, peakAfterWarmup: Math.max(...after), growth: floor.last / floor.first - 1, topGrowth: top.last / top.first - 1 }
}

/**
 * `npm run bench -- --soak <seconds>`: one Gatehouse process (a child of its own, so its RSS is the
 * server's alone) answering access checks and selective finds at a fixed rate for `seconds`; its
 * RSS sampled each second. Reports the RSS growth after the warm-up (goal ±10%) and the errors
 * (goal 0): every answer must be the expected body.
 */
export async function runSoak(options: SoakOptions & { command?: string }): Promise<{ report: SoakReport; file: string; text: string }> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const startedAt = new Date()
  const stack = await startStack(options.store, { adminUrl: options.adminUrl, onDisk: options.store === 'pglite' })
  try {
    const paths = await prepareHotPaths(stack, { fillerGrants: options.fillerGrants, rows: options.rows, bar: progressBar('tickets (fill)', options.rows, options.progress ?? false) })
    // The server runs in its own process on the prepared store (a PGlite directory is one process's).
    const location = await stack.release()
    const [node] = await startNodes(location, 1, { maxSeconds: options.seconds + 900 })
    try {
      const server = node!
      const warmupSeconds = Math.max(2, Math.round(options.seconds * 0.2))
      log(`soak on ${options.store}: ${options.seconds} s at ${SOAK_RATES.access} access checks/s and ${SOAK_RATES.find} finds/s; RSS growth measured after ${warmupSeconds} s`)
      const requests = { access: 0, find: 0 }
      const errors = { access: 0, find: 0 }
      const loadStartedAt = Date.now()
      const until = loadStartedAt + options.seconds * 1000
      while (Date.now() < until - 500) {
        const seconds = Math.max(1, Math.min(ROUND_SECONDS, Math.round((until - Date.now()) / 1000)))
        const token = await vaultToken(server.url, paths.find.client)
        const expected = await expectedBodies(server.url, paths, token)
        const [access, find] = await Promise.all([
          fire({ url: `${server.url}${paths.access.path}`, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${paths.portalToken}` }, body: paths.access.body, connections: 4, seconds, overallRate: SOAK_RATES.access, expectBody: expected.access }),
          fire({ url: `${server.url}${paths.find.path}`, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: paths.find.body, connections: 2, seconds, overallRate: SOAK_RATES.find, expectBody: expected.find }),
        ])
        requests.access += access.requests
        requests.find += find.requests
        errors.access += access.failures
        errors.find += find.failures
        const latest = server.rss[server.rss.length - 1]
        log(`  ${Math.round((Date.now() - loadStartedAt) / 1000)} s: ${formatNumber(requests.access)} access checks, ${formatNumber(requests.find)} finds, ${errors.access + errors.find} errors, RSS ${latest ? formatNumber(latest.rss / MiB, 1) : '?'} MiB, heap used ${latest ? formatNumber(latest.heapUsed / MiB, 1) : '?'} MiB`)
      }
      const loadEndedAt = Date.now()
      const during = server.rss.filter((sample) => sample.at >= loadStartedAt && sample.at <= loadEndedAt)
      const growth = rssGrowth(during, loadStartedAt, warmupSeconds, loadEndedAt)
      const heap = rssGrowth(during, loadStartedAt, warmupSeconds, loadEndedAt, (sample) => sample.heapUsed)
      const inMiB = (figures: typeof growth) => ({
        afterWarmup: round(figures.afterWarmup / MiB, 1),
        end: round(figures.end / MiB, 1),
        peakAfterWarmup: round(figures.peakAfterWarmup / MiB, 1),
        growth: round(figures.growth, 4),
        topGrowth: round(figures.topGrowth, 4),
      })
      const report: SoakReport = {
        command: options.command ?? 'runSoak()',
        revision: revision(),
        startedAt: startedAt.toISOString(),
        store: options.store,
        machine: machine(),
        seconds: options.seconds,
        warmupSeconds,
        rates: SOAK_RATES,
        requests,
        errors,
        rss: inMiB(growth),
        heap: inMiB(heap),
        curve: during.map((sample) => round(sample.rss / MiB, 1)),
        heapCurve: during.map((sample) => round(sample.heapUsed / MiB, 1)),
        heapTotalCurve: during.map((sample) => round(sample.heapTotal / MiB, 1)),
        externalCurve: during.map((sample) => round(sample.external / MiB, 1)),
        met: { rss: Math.abs(growth.growth) <= RSS_GOAL, errors: errors.access + errors.find === 0 },
      }
      mkdirSync(options.outDir, { recursive: true })
      const file = join(options.outDir, `soak-${startedAt.toISOString().replace(/[:.]/g, '-')}-${options.store}.json`)
      writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
      const percent = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%`
      const text = [
        '| Soak | Store | Requests | Errors | RSS after warm-up → end (lowest of the first and last thirds) | Growth (of the highest) | V8 heap used, same reading | Goal | Met |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        `| ${options.seconds} s at ${SOAK_RATES.access} + ${SOAK_RATES.find} req/s | ${options.store} | ${formatNumber(requests.access)} access checks, ${formatNumber(requests.find)} finds | ${errors.access + errors.find} | ${report.rss.afterWarmup} → ${report.rss.end} MiB | ${percent(growth.growth)} (${percent(growth.topGrowth)}) | ${report.heap.afterWarmup} → ${report.heap.end} MiB, ${percent(heap.growth)} (${percent(heap.topGrowth)}) | RSS within ±${RSS_GOAL * 100}% after ${warmupSeconds} s warm-up; 0 errors | ${report.met.rss && report.met.errors ? 'yes' : '**no**'} |`,
      ].join('\n')
      return { report, file, text }
    } finally {
      await node?.stop()
    }
  } finally {
    await stack.close()
  }
}
