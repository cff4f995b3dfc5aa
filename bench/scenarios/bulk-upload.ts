import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { copyTextChunks } from '../../packages/server/src/db/copy-text.js'
import { createResourcesStore } from '../../packages/server/src/modules/resources/resources-store.js'
import { GatehouseAPI } from '../../packages/sdk/src/index.js'
import type { ResourceInput } from '../../packages/sdk/src/types.js'
import { measureBulkRss, bulkRssFigures, bulkRssNote, timedBulkUpload, type BulkRssResult } from '../lib/bulk-rss.js'
import { customers, formatNumber, MiB, round } from '../lib/data.js'
import type { Stack } from '../lib/stack.js'
import type { Scenario, ScenarioContext } from '../lib/types.js'

/** `--bulk-rows`: the server's RSS may rise this much above idle through both passes, and no more. */
const RSS_GROWTH_GOAL_MIB = 100
const ROWS_PER_CHUNK = 1000

/**
 * The floor: COPY of the same rows into the same table, in one transaction through the Db's own
 * `copyFrom` (COPY … FROM STDIN through pg-copy-streams on PostgreSQL, COPY … FROM '/dev/blob' on
 * PGlite), the rows encoded by the server's COPY text encoder. Returns seconds and how it was done.
 */
async function copyResources(stack: Stack, rows: ResourceInput[]): Promise<{ seconds: number; method: string }> {
  const target = { table: 'resources', columns: ['space_id', 'kind', 'id', 'display_name', 'labels'] }
  // Encoded before the clock starts, as the text a hand-written loader would already hold.
  const chunks = [...copyTextChunks(rows.map((row) => [stack.space, row.kind, row.id, row.displayName ?? '', JSON.stringify(row.labels ?? {})]), ROWS_PER_CHUNK)]
  const started = performance.now()
  const copied = await stack.db.transaction((tx) => tx.copyFrom(target, chunks))
  const seconds = (performance.now() - started) / 1000
  if (copied !== rows.length) throw new Error(`COPY reported ${copied} rows, not ${rows.length}`)
  const method = stack.kind === 'pglite' ? "COPY … FROM '/dev/blob' (PGlite)" : 'COPY … FROM STDIN (pg-copy-streams, one connection)'
  return { seconds, method: `${method}, one transaction, through the Db's copyFrom` }
}

/** The SDK's shape of an upload: batches of 1,000, four in flight. */
const BATCH = 1000
const IN_FLIGHT = 4

/**
 * The upsert floor (evidence, not the goal): the same batches as the SDK sends (1,000 rows, four
 * in flight), each in its own transaction holding the resources store's own upsert (the same SQL
 * Gatehouse runs, as scenario 1's floor calls the store's own grant lookup) and one audit event
 * naming its counts, written by hand, straight on the Db: Gatehouse's contract (idempotent, atomic
 * per batch, the change and its event together) without HTTP, validation, authentication or the
 * audit service.
 */
async function upsertResources(stack: Stack, rows: ResourceInput[]): Promise<{ seconds: number; changed: number }> {
  const resources = createResourcesStore()
  let next = 0
  let changed = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let at = next; at < rows.length; at = next) {
        next += BATCH
        const batch = rows.slice(at, at + BATCH)
        const batchChanged = await stack.db.transaction(async (tx) => {
          const { created, updated } = await resources.upsertMany(tx, stack.space, batch)
          await tx.query(
            `INSERT INTO audit_pending (space_id, id, time, actor, event, resources, meta)
             VALUES ($1, $2, now(), '{"kind":"bench","id":"floor"}'::jsonb, 'bench/floor-bulk', '[]'::jsonb, jsonb_build_object('received', $3::int, 'created', $4::int, 'updated', $5::int))`,
            [stack.space, `evt_floor_${randomUUID()}`, batch.length, created, updated],
          )
          return created + updated
        })
        // Added after the await: `changed += await …` would read `changed` before the other batches land.
        changed += batchChanged
      }
    }),
  )
  return { seconds: (performance.now() - started) / 1000, changed }
}

async function countResources(stack: Stack): Promise<number> {
  const { rows } = await stack.db.query<{ count: number }>('SELECT count(*)::int AS count FROM resources WHERE space_id = $1', [stack.space])
  return rows[0]?.count ?? 0
}

/** The issue's goal: Gatehouse at ≥ 0.75× COPY's throughput, i.e. taking at most 1/0.75 of its time. */
const GOAL_THROUGHPUT_RATIO = 0.75
/** Batches traced for the evidence: fresh rows, one batch at a time, so each statement's time is its own. */
const TRACED_BATCHES = 20

/** One SDK upload (batches of 1,000, four in flight) with a progress bar; seconds and what it changed. */
async function upload(ctx: ScenarioContext, client: GatehouseAPI, rows: ResourceInput[], label: string): Promise<{ seconds: number; changed: number }> {
  const bar = ctx.progress(label, rows.length)
  try {
    return await timedBulkUpload(client, rows, bar)
  } finally {
    bar.stop()
  }
}

/**
 * 3. N resources through the SDK's client.resource.bulkUpdate (batches of 1,000, four in flight,
 * over HTTP to the real server), against COPY of the same rows into the same, emptied table; then
 * the same N again (must change nothing). With `--bulk-rows`, also the million-row upload whose
 * server RSS is sampled (bulk-rss.ts).
 */
export const bulkUpload: Scenario = {
  name: 'bulk-upload',
  number: 3,
  title: 'Bulk upload',
  async run(ctx) {
    const count = ctx.sizes.resources
    const stack = await ctx.stack({ trace: true })
    const token = await stack.serviceToken('bench-uploader', 'admin', ['resources:write'])
    const rows = customers(count)

    const copy = await copyResources(stack, rows)
    if ((await countResources(stack)) !== count) throw new Error('COPY did not store every row')
    // Every arm starts from an empty table with the same indexes.
    await stack.db.query('TRUNCATE resources')
    const upsert = await upsertResources(stack, rows)
    if (upsert.changed !== count || (await countResources(stack)) !== count) throw new Error(`the upsert floor changed ${upsert.changed} of ${count} resources`)
    await stack.db.query('TRUNCATE resources')

    const client = new GatehouseAPI({ baseUrl: stack.baseUrl, space: stack.space, token, maxRetries: 0 })
    const first = await ctx.profile('upload', () => upload(ctx, client, rows, 'bulkUpdate, resources uploaded'))
    if (first.changed !== count) throw new Error(`bulkUpdate changed ${first.changed} of ${count} resources`)
    if ((await countResources(stack)) !== count) throw new Error('bulkUpdate did not store every row')
    const repeat = await upload(ctx, client, rows, 'bulkUpdate, the same again')
    if (repeat.changed !== 0) throw new Error(`the repeated bulkUpdate changed ${repeat.changed} resources, not 0`)

    // Evidence: the statements of a batch of fresh rows, one batch at a time (nothing overlaps).
    const batches = Math.max(1, Math.min(TRACED_BATCHES, Math.floor(count / 1000)))
    const traced = Array.from({ length: batches * 1000 }, (_, index) => ({ kind: 'traced', id: `t_${index}`, displayName: `Traced ${index}`, labels: { plan: 'pro' } }))
    const batchStatements = await stack.tracer!.record(batches, () => client.resource.bulkUpdate({ resources: traced, concurrency: 1 }))

    let bulkRss: BulkRssResult | null = null
    if (ctx.sizes.bulkRssRows > 0 && stack.store.location.kind === 'postgres') {
      await stack.db.query('TRUNCATE resources')
      const location = await stack.release()
      if (location.kind !== 'postgres') throw new Error('unreachable')
      bulkRss = await measureBulkRss({ location, space: stack.space, token, rows: ctx.sizes.bulkRssRows, progress: ctx.progress })
    }

    const perSecond = count / first.seconds
    const copyPerSecond = count / copy.seconds
    const ratio = first.seconds / copy.seconds
    const rssFlat = bulkRss ? (bulkRss.rss.peak - bulkRss.rss.start) / MiB < RSS_GROWTH_GOAL_MIB : true
    return {
      summary: {
        gatehouse: `${formatNumber(perSecond)} resources/s (${formatNumber(first.seconds, first.seconds < 10 ? 2 : 1)} s); repeat ${formatNumber(repeat.seconds, 2)} s, 0 changed`,
        baseline: `${formatNumber(copyPerSecond)} resources/s (${formatNumber(copy.seconds, copy.seconds < 10 ? 2 : 1)} s)`,
      },
      figures: {
        gatehouse: {
          throughput: { value: round(perSecond), unit: 'resources/s' },
          seconds: { value: round(first.seconds, 3), unit: 's' },
          repeatSeconds: { value: round(repeat.seconds, 3), unit: 's' },
          ...(bulkRss ? bulkRssFigures(bulkRss) : {}),
        },
        baseline: {
          throughput: { value: round(copyPerSecond), unit: 'resources/s' },
          seconds: { value: round(copy.seconds, 3), unit: 's' },
          upsertFloorSeconds: { value: round(upsert.seconds, 3), unit: 's' },
        },
      },
      ratios: [
        { name: 'time', value: ratio, formula: 'bulkUpdate seconds ÷ COPY seconds' },
        { name: 'repeat time', value: repeat.seconds / copy.seconds, formula: 'repeated (unchanged) bulkUpdate seconds ÷ COPY seconds' },
        { name: 'upsert floor time', value: upsert.seconds / copy.seconds, formula: 'the store\'s upsert + an audit event per batch, on the Db, seconds ÷ COPY seconds (the contract alone; evidence)' },
        { name: 'vs upsert floor', value: first.seconds / upsert.seconds, formula: 'bulkUpdate seconds ÷ the store\'s upsert + an audit event per batch, on the Db, seconds (what Gatehouse adds to its contract; evidence)' },
      ],
      goal: {
        text: `≥ ${GOAL_THROUGHPUT_RATIO}× COPY's throughput (time ≤ ${formatNumber(1 / GOAL_THROUGHPUT_RATIO, 2)}×)${bulkRss ? `; ${formatNumber(bulkRss.rows)} twice with server RSS < +${RSS_GROWTH_GOAL_MIB} MiB` : ''}`,
        met: ratio <= 1 / GOAL_THROUGHPUT_RATIO && rssFlat,
      },
      sizes: { resources: count, batchSize: BATCH, concurrency: IN_FLIGHT, tracedBatches: batches, bulkRssRows: bulkRss?.rows ?? 0 },
      notes: [
        `Baseline: ${copy.method}, same rows, same table and indexes, emptied (TRUNCATE) before the SDK upload.`,
        `Upsert floor (evidence): the same batches of ${formatNumber(BATCH)}, ${IN_FLIGHT} in flight, each one transaction with the resources store's own upsert and one audit event, straight on the Db: ${formatNumber(upsert.seconds, 2)} s, ${formatNumber(upsert.seconds / copy.seconds, 2)}× COPY's time (the contract's cost: idempotent, an edit in place, the change and its event together); Gatehouse ${formatNumber(first.seconds / upsert.seconds, 2)}× the upsert floor's time (HTTP, JSON, validation, authentication, the audit service).`,
        `Per batch of 1,000 fresh rows (${batches} batches, one at a time): ${formatNumber(batchStatements.statementsPerUnit, 1)} statements, ${formatNumber(batchStatements.dbMsPerUnit, 1)} ms in the database; COPY took ${formatNumber((copy.seconds * 1000 * 1000) / count, 1)} ms per 1,000 rows.`,
        ...(bulkRss ? [bulkRssNote(bulkRss)] : ctx.sizes.bulkRssRows > 0 ? ['--bulk-rows runs on PostgreSQL only (a PGlite store belongs to one process).'] : []),
      ],
      evidence: { batchStatements, ...(bulkRss ? { bulkRssCurveMiB: bulkRss.curve } : {}) },
    }
  },
}
