import { fork, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { formatNumber, MiB, round } from '../lib/data.js'
import type { ChildMessage, ExportArm, ExportChildConfig, ParentMessage } from '../lib/export-child.js'
import type { Stack } from '../lib/stack.js'
import type { StoreLocation } from '../lib/stores.js'
import type { Scenario, ScenarioContext } from '../lib/types.js'

const GOAL_MIB = 100
const SAMPLE_MS = 50
const CHILD = fileURLToPath(new URL('../lib/export-child.ts', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Fills the space's chain with `count` events, set-based and in chunks (for the progress bar). The
 * hashes are placeholders — export does not verify — but seq stays gapless after the bootstrap
 * events, times follow seq, and the head is moved to the last event, as appends would leave it.
 */
async function fillAuditEvents(ctx: ScenarioContext, stack: Stack, count: number): Promise<void> {
  const { db, space } = stack
  const head = (await db.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_heads WHERE space_id = $1', [space])).rows[0]
  if (!head) throw new Error('no audit head for the default space')
  const first = head.seq + 1
  const last = head.seq + count
  const chunk = Math.min(50_000, Math.max(1000, Math.ceil(count / 20)))
  const startedAt = new Date()
  const bar = ctx.progress('audit events (fill)', count)
  try {
    for (let from = first; from <= last; from += chunk) {
      const to = Math.min(last, from + chunk - 1)
      await db.query(
        `INSERT INTO audit_events (space_id, seq, id, time, actor, event, resources, meta, prev_hash, hash)
         SELECT $1, g, 'evt_bench' || lpad(g::text, 12, '0'), $6::timestamptz + (g - $4) * interval '1 microsecond',
           jsonb_build_object('kind', 'service_account', 'id', 'sa_bench', 'display', 'bench-uploader', 'tokenId', 'tok_bench'),
           'resource/bulk_update',
           jsonb_build_array(jsonb_build_object('kind', 'customer', 'id', 'c_' || lpad((g % 100000)::text, 7, '0'))),
           jsonb_build_object('received', 1000, 'changed', 1000, 'truncated', true),
           CASE WHEN g = $4 THEN $5 ELSE md5((g - 1)::text) || md5((g - 1)::text || 'x') END,
           md5(g::text) || md5(g::text || 'x')
         FROM generate_series($2::bigint, $3::bigint) AS g`,
        [space, from, to, first, head.hash, startedAt],
      )
      bar.tick(to - from + 1)
    }
  } finally {
    bar.stop()
  }
  await db.query(`UPDATE audit_heads SET seq = $2::bigint, hash = md5($2::bigint::text) || md5($2::bigint::text || 'x') WHERE space_id = $1`, [space, last])
  // Hint bits and statistics set now, outside the measurement, instead of by whichever arm reads first.
  await db.query('VACUUM ANALYZE audit_events')
}

/** Waits for the child's next message of one type; fails on another failure, an exit, or the timeout. */
function nextMessage<T extends ChildMessage['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`export child: no '${type}' within ${timeoutMs} ms`)), timeoutMs)
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'failed') finish(new Error(`export child failed: ${message.message}`))
      else if (message.type === type) finish(null, message as Extract<ChildMessage, { type: T }>)
    }
    const onExit = (code: number | null) => finish(new Error(`export child exited (${code}) before '${type}'`))
    function finish(error: Error | null, message?: Extract<ChildMessage, { type: T }>) {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      if (error) reject(error)
      else resolve(message!)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

/** GETs a URL and throws the body away, counting bytes and lines. */
function consume(url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ bytes: number; lines: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false, timeout: timeoutMs }, (response) => {
      if (response.statusCode !== 200) {
        response.resume()
        reject(new Error(`GET ${url}: ${response.statusCode}`))
        return
      }
      let bytes = 0
      let lines = 0
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1
      })
      response.on('end', () => resolve({ bytes, lines }))
      response.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

interface ArmMemory {
  /** RSS the store added when the server opened it (PGlite: the whole embedded Postgres). */
  storeOpen: number
  idle: number
  peak: number
  samples: number
  curve: number[]
  seconds: number
  bytes: number
  lines: number
}

async function measureArm(arm: ExportArm, location: StoreLocation, space: string, token: string, timeoutSeconds: number): Promise<ArmMemory> {
  // The child also bounds itself: opening the store and the warm-up come on top of the export.
  const config: ExportChildConfig = { arm, location, space, sampleMs: SAMPLE_MS, maxSeconds: timeoutSeconds + 180 }
  const child = fork(CHILD, [JSON.stringify(config)], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const send = (message: ParentMessage) => child.send(message)
  try {
    const { port, storeOpen } = await nextMessage(child, 'listening', 180_000)
    const base = `http://127.0.0.1:${port}`
    const headers: Record<string, string> = arm === 'gatehouse' ? { authorization: `Bearer ${token}` } : {}
    // Warm-up: one event through the same export path, so idle is a server whose code has run. Only
    // one: a warm-up that read the table would fill PGlite's buffer pool (in this process) before
    // idle is taken and hide it from the peak. (Gatehouse's export has no limit; an event filter
    // served by an index finds the one bootstrap event without scanning.)
    const path = arm === 'gatehouse' ? `/v1/spaces/${space}/audit:export` : '/export'
    const warm = await consume(`${base}${path}?${arm === 'gatehouse' ? 'event=space%2Fcreate' : 'first=1'}`, headers, 60_000)
    if (warm.lines !== 1) throw new Error(`${arm}: the warm-up exported ${warm.lines} events, not 1`)
    send({ type: 'settle' })
    const { rss: idle } = await nextMessage(child, 'idle', 30_000)
    const started = performance.now()
    const { bytes, lines } = await consume(`${base}${path}`, headers, timeoutSeconds * 1000)
    const seconds = (performance.now() - started) / 1000
    send({ type: 'report' })
    const report = await nextMessage(child, 'report', 30_000)
    send({ type: 'exit' })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
    return { storeOpen: storeOpen.after - storeOpen.before, idle, peak: report.peak, samples: report.samples, curve: report.curve, seconds, bytes, lines }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

/**
 * 5 (audit half). Peak RSS above idle of the server process while it streams N audit events as
 * NDJSON to a client, against a hand-written streaming export of the same rows from the same store.
 * Each server runs in a child process of its own (see export-child.ts for why).
 */
export const auditExportMemory: Scenario = {
  name: 'audit-export-memory',
  number: 5,
  title: 'Memory: audit export',
  async run(ctx) {
    const count = ctx.sizes.exportEvents
    const stack = await ctx.stack({ onDisk: true })
    const token = await stack.serviceToken('bench-auditor', 'reviewer', ['audit:read'])
    await fillAuditEvents(ctx, stack, count)
    const total = (await stack.db.query<{ count: number }>('SELECT count(*)::int AS count FROM audit_events WHERE space_id = $1', [stack.space])).rows[0]!.count
    const sharedBuffers = (await stack.db.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]?.shared_buffers ?? '?'
    const location = await stack.release()

    const timeoutSeconds = Math.max(120, Math.ceil(count / 5_000))
    ctx.log(`export: ${formatNumber(total)} events, RSS sampled every ${SAMPLE_MS} ms in the server's own process`)
    const baseline = await measureArm('baseline', location, stack.space, token, timeoutSeconds)
    const gatehouse = await measureArm('gatehouse', location, stack.space, token, timeoutSeconds)
    for (const [arm, result] of [['baseline', baseline], ['gatehouse', gatehouse]] as const) {
      if (result.lines !== total) throw new Error(`${arm} exported ${result.lines} of ${total} events`)
    }

    const above = (arm: ArmMemory) => (arm.peak - arm.idle) / MiB
    const floorMiB = 1
    const ratio = Math.max(above(gatehouse), floorMiB) / Math.max(above(baseline), floorMiB)
    const cell = (arm: ArmMemory) => `+${formatNumber(above(arm), 1)} MiB peak RSS over ${formatNumber(arm.idle / MiB)} MiB idle · ${formatNumber(arm.lines / arm.seconds)} events/s`
    const figures = (arm: ArmMemory) => ({
      aboveIdle: { value: round(above(arm), 1), unit: 'MiB' },
      idleRss: { value: round(arm.idle / MiB, 1), unit: 'MiB' },
      storeOpenRss: { value: round(arm.storeOpen / MiB, 1), unit: 'MiB' },
      peakRss: { value: round(arm.peak / MiB, 1), unit: 'MiB' },
      seconds: { value: round(arm.seconds, 2), unit: 's' },
      throughput: { value: round(arm.lines / arm.seconds), unit: 'events/s' },
      bytes: { value: arm.bytes, unit: 'bytes' },
      samples: { value: arm.samples, unit: 'samples' },
    })
    return {
      summary: { gatehouse: cell(gatehouse), baseline: cell(baseline) },
      figures: { gatehouse: figures(gatehouse), baseline: figures(baseline) },
      ratios: [
        { name: 'memory above idle', value: ratio, formula: `Gatehouse (peak − idle) ÷ baseline (peak − idle), each at least ${floorMiB} MiB` },
        { name: 'export time', value: gatehouse.seconds / baseline.seconds, formula: 'Gatehouse seconds ÷ baseline seconds' },
      ],
      goal: { text: `< ${GOAL_MIB} MiB above idle`, met: above(gatehouse) < GOAL_MIB },
      evidence: {
        // The RSS curve of each server through its export (MiB, idle first): where the peak came from.
        rssMiB: Object.fromEntries(
          ([['gatehouse', gatehouse], ['baseline', baseline]] as const).map(([arm, result]) => [arm, [result.idle, ...result.curve].map((bytes) => round(bytes / MiB, 1))]),
        ),
      },
      sizes: { events: total, sampleMs: SAMPLE_MS },
      notes: [
        'Each arm is a fresh child process (node --expose-gc) that opens the filled store, exports one event (warm-up), collects garbage, takes its idle RSS, then streams the whole export while a worker thread samples RSS every 50 ms.',
        'Baseline: a bare Fastify route reading the same keyset pages (1,000 rows) and writing each event as the same NDJSON line straight to the socket, waiting for drain.',
        ...(gatehouse.bytes !== baseline.bytes ? [`The arms sent different byte counts (${gatehouse.bytes} vs ${baseline.bytes}).`] : []),
        ...(ctx.store === 'pglite'
          ? [
              `PGlite runs inside the server process: opening the store added ${formatNumber(gatehouse.storeOpen / MiB)} MiB of RSS (the WebAssembly Postgres with its shared_buffers = ${sharedBuffers}), already resident at idle in both arms.`,
            ]
          : []),
      ],
    }
  },
}
