import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { GatehouseAPI } from '../../packages/sdk/src/index.js'
import type { ResourceInput } from '../../packages/sdk/src/types.js'
import { customers, formatNumber, MiB, round } from './data.js'
import { measureMemory } from './memory-arm.js'
import type { StoreLocation } from './stores.js'
import type { Figure, Progress } from './types.js'

export interface BulkRssPass {
  seconds: number
  changed: number
}

export interface BulkRssResult {
  rows: number
  first: BulkRssPass
  repeat: BulkRssPass
  /** Server RSS in bytes: idle before the first pass, the highest sample, and when the repeat ended. */
  rss: { start: number; peak: number; end: number }
  /** MiB, at most 60 points through both passes (each the highest of its stretch). */
  curve: number[]
}

/** One SDK upload of `rows` (batches of 1,000, four in flight) ticking `bar`: its seconds and what it changed. Scenario 3 uploads the same way. */
export async function timedBulkUpload(client: GatehouseAPI, rows: ResourceInput[], bar: Progress): Promise<BulkRssPass> {
  let shown = 0
  const started = performance.now()
  const { changed } = await client.resource.bulkUpdate({
    resources: rows,
    onProgress: ({ done }) => {
      bar.tick(done - shown)
      shown = done
    },
  })
  return { seconds: (performance.now() - started) / 1000, changed }
}

const uploadPass = (base: string, space: string, token: string, rows: ResourceInput[], bar: Progress): Promise<BulkRssPass> =>
  timedBulkUpload(new GatehouseAPI({ baseUrl: base, space, token, maxRetries: 0 }), rows, bar)

/**
 * `--bulk-rows N` (PostgreSQL): N resources uploaded through the SDK to Gatehouse in a process of
 * its own (memory-child.ts), then the same N again, which must change nothing; the server's RSS is
 * sampled throughout. A server that held a batch beyond its request, or the whole upload, would
 * show it here as RSS growing with N.
 */
export async function measureBulkRss(options: {
  location: Extract<StoreLocation, { kind: 'postgres' }>
  space: string
  token: string
  rows: number
  progress(label: string, total: number): Progress
}): Promise<BulkRssResult> {
  const { location, space, token, rows: count } = options
  const rows = customers(count)
  const memory = await measureMemory({
    arm: 'gatehouse',
    location,
    space,
    // At 10,000 rows/s on a slow day, both passes: generous, and the child bounds itself too.
    timeoutSeconds: Math.ceil((count * 2) / 10_000) + 120,
    // One small batch of other rows, so idle is a server whose bulk path has run.
    async warmUp(base) {
      const client = new GatehouseAPI({ baseUrl: base, space, token, maxRetries: 0 })
      await client.resource.bulkUpdate({ resources: [{ kind: 'warm-up', id: 'w_1' }] })
    },
    async work(base) {
      const first = options.progress(`bulkUpdate ×${formatNumber(count)}, first pass`, count)
      const one = await uploadPass(base, space, token, rows, first).finally(() => first.stop())
      const again = options.progress(`bulkUpdate ×${formatNumber(count)}, repeated`, count)
      const two = await uploadPass(base, space, token, rows, again).finally(() => again.stop())
      return { one, two }
    },
  })
  const { one, two } = memory.outcome
  const client = new pg.Client({ connectionString: location.url })
  await client.connect()
  try {
    const { rows: counted } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM resources WHERE space_id = $1 AND kind = 'customer'", [space])
    if (counted[0]?.n !== count) throw new Error(`--bulk-rows: ${counted[0]?.n} customers stored, not ${count}`)
  } finally {
    await client.end()
  }
  if (one.changed !== count) throw new Error(`--bulk-rows: the first pass changed ${one.changed} of ${count}`)
  if (two.changed !== 0) throw new Error(`--bulk-rows: the repeated upload changed ${two.changed}, not 0`)
  return {
    rows: count,
    first: one,
    repeat: two,
    rss: { start: memory.idle, peak: memory.peak, end: memory.end },
    curve: [memory.idle, ...memory.curve].map((bytes) => round(bytes / MiB, 1)),
  }
}

export const bulkRssFigures = (result: BulkRssResult): Record<string, Figure> => ({
  bulkRows: { value: result.rows, unit: 'resources' },
  bulkFirstSeconds: { value: round(result.first.seconds, 1), unit: 's' },
  bulkRepeatSeconds: { value: round(result.repeat.seconds, 1), unit: 's' },
  bulkRssStart: { value: round(result.rss.start / MiB, 1), unit: 'MiB' },
  bulkRssPeak: { value: round(result.rss.peak / MiB, 1), unit: 'MiB' },
  bulkRssEnd: { value: round(result.rss.end / MiB, 1), unit: 'MiB' },
})

/** "1,000,000 resources … RSS 180 → peak 205 → 198 MiB" */
export const bulkRssNote = (result: BulkRssResult): string =>
  `--bulk-rows: ${formatNumber(result.rows)} resources through the SDK to a server in its own process in ${formatNumber(result.first.seconds, 1)} s ` +
  `(${formatNumber(result.rows / result.first.seconds)}/s, ${formatNumber(result.first.changed)} changed), the same again in ${formatNumber(result.repeat.seconds, 1)} s ` +
  `(${result.repeat.changed} changed); server RSS ${formatNumber(result.rss.start / MiB)} MiB at idle before, peak ${formatNumber(result.rss.peak / MiB)} MiB, ` +
  `${formatNumber(result.rss.end / MiB)} MiB at the end.`
