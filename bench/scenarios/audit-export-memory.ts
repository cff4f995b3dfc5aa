import { request } from 'node:http'
import { frontierNodes } from '@gatehouse/sdk'
import { formatNumber, round } from '../lib/data.js'
import { measureMemory, memoryCell, memoryFigures, memoryGoal, memoryRatio, rssCurves, SAMPLE_MS, storeOpenNote, type MemoryArm } from '../lib/memory-arm.js'
import type { Stack } from '../lib/stack.js'
import type { Scenario, ScenarioContext } from '../lib/types.js'

/**
 * Fills the space's log with `count` events, set-based and in chunks (for the progress bar). The
 * leaf hashes and the tree's right edge are placeholders — export does not verify — but seq stays
 * gapless after the bootstrap events (integrated first), times follow seq, and the head is moved
 * to the last event with a right edge of the right length, as the sequencer would leave it.
 */
async function fillAuditEvents(ctx: ScenarioContext, stack: Stack, count: number): Promise<void> {
  const { db, space } = stack
  await stack.built.services.audit.integrateNow(space)
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
        `INSERT INTO audit_events (space_id, seq, id, time, actor, event, resources, meta, leaf_hash)
         SELECT $1, g, 'evt_bench' || lpad(g::text, 12, '0'), $5::timestamptz + (g - $4) * interval '1 microsecond',
           jsonb_build_object('kind', 'service_account', 'id', 'sa_bench', 'display', 'bench-uploader', 'tokenId', 'tok_bench'),
           'resource/bulk_update',
           jsonb_build_array(jsonb_build_object('kind', 'customer', 'id', 'c_' || lpad((g % 100000)::text, 7, '0'))),
           jsonb_build_object('received', 1000, 'changed', 1000, 'truncated', true),
           md5(g::text) || md5(g::text || 'x')
         FROM generate_series($2::bigint, $3::bigint) AS g`,
        [space, from, to, first, startedAt],
      )
      bar.tick(to - from + 1)
    }
  } finally {
    bar.stop()
  }
  const frontier = '0'.repeat(64 * frontierNodes(last).length)
  await db.query('UPDATE audit_heads SET seq = $2, tree_size = $2, frontier = $3 WHERE space_id = $1', [space, last, frontier])
  // Hint bits and statistics set now, outside the measurement, instead of by whichever arm reads first.
  await db.query('VACUUM ANALYZE audit_events')
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

/** One arm: the whole export through the server in a child process of its own. */
function measureExport(arm: MemoryArm, location: Awaited<ReturnType<Stack['release']>>, space: string, token: string, timeoutSeconds: number) {
  const headers: Record<string, string> = arm === 'gatehouse' ? { authorization: `Bearer ${token}` } : {}
  const path = arm === 'gatehouse' ? `/v1/spaces/${space}/audit:export` : '/export'
  return measureMemory({
    arm,
    location,
    space,
    timeoutSeconds,
    // Only one event: a warm-up that read the table would fill PGlite's buffer pool (in the child)
    // before idle is taken and hide it from the peak. (Gatehouse's export has no limit; an event
    // filter served by an index finds the one bootstrap event without scanning.)
    async warmUp(base) {
      const warm = await consume(`${base}${path}?${arm === 'gatehouse' ? 'event=space%2Fcreate' : 'first=1'}`, headers, 60_000)
      if (warm.lines !== 1) throw new Error(`${arm}: the warm-up exported ${warm.lines} events, not 1`)
    },
    work: (base) => consume(`${base}${path}`, headers, timeoutSeconds * 1000),
  })
}

/**
 * 5 (audit half). Peak RSS above idle of the server process while it streams N audit events as
 * NDJSON to a client, against a hand-written streaming export of the same rows from the same store.
 * Each server runs in a child process of its own (see memory-child.ts for why).
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
    const baseline = await measureExport('baseline', location, stack.space, token, timeoutSeconds)
    const gatehouse = await measureExport('gatehouse', location, stack.space, token, timeoutSeconds)
    for (const [arm, result] of [['baseline', baseline], ['gatehouse', gatehouse]] as const) {
      if (result.outcome.lines !== total) throw new Error(`${arm} exported ${result.outcome.lines} of ${total} events`)
    }

    type Measured = typeof gatehouse
    const cell = (arm: Measured) => `${memoryCell(arm)} · ${formatNumber(arm.outcome.lines / arm.seconds)} events/s`
    const figures = (arm: Measured) => ({
      ...memoryFigures(arm),
      throughput: { value: round(arm.outcome.lines / arm.seconds), unit: 'events/s' },
      bytes: { value: arm.outcome.bytes, unit: 'bytes' },
    })
    return {
      summary: { gatehouse: cell(gatehouse), baseline: cell(baseline) },
      figures: { gatehouse: figures(gatehouse), baseline: figures(baseline) },
      ratios: [
        memoryRatio(gatehouse, baseline),
        { name: 'export time', value: gatehouse.seconds / baseline.seconds, formula: 'Gatehouse seconds ÷ baseline seconds' },
      ],
      goal: memoryGoal(gatehouse),
      evidence: { rssMiB: rssCurves(gatehouse, baseline) },
      sizes: { events: total, sampleMs: SAMPLE_MS },
      notes: [
        'Each arm is a fresh child process (node --expose-gc) that opens the filled store, exports one event (warm-up), collects garbage, takes its idle RSS, then streams the whole export while a worker thread samples RSS every 50 ms.',
        'Baseline: a bare Fastify route reading the same keyset pages (1,000 rows) and writing each event as the same NDJSON line straight to the socket, waiting for drain.',
        ...(gatehouse.outcome.bytes !== baseline.outcome.bytes ? [`The arms sent different byte counts (${gatehouse.outcome.bytes} vs ${baseline.outcome.bytes}).`] : []),
        ...(ctx.store === 'pglite' ? [storeOpenNote(gatehouse, sharedBuffers)] : []),
      ],
    }
  },
}
