import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { GatehouseAPI } from '../../packages/sdk/src/index.js'
import type { ResourceInput } from '../../packages/sdk/src/types.js'
import { customers, formatNumber, round } from '../lib/data.js'
import type { Stack } from '../lib/stack.js'
import type { Scenario } from '../lib/types.js'

const GOAL_PER_SECOND = 50_000
const COPY_SQL = 'COPY resources (space_id, kind, id, display_name, labels) FROM'
const ROWS_PER_CHUNK = 1000

/** COPY's text format: backslash, tab, newline and carriage return are escaped; nothing else is. */
const copyField = (value: string) => value.replace(/[\\\t\n\r]/g, (char) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[char]!)

function copyText(space: string, rows: ResourceInput[]): string[] {
  const chunks: string[] = []
  for (let start = 0; start < rows.length; start += ROWS_PER_CHUNK) {
    chunks.push(
      rows
        .slice(start, start + ROWS_PER_CHUNK)
        .map((row) => [space, row.kind, row.id, row.displayName ?? '', JSON.stringify(row.labels ?? {})].map(copyField).join('\t') + '\n')
        .join(''),
    )
  }
  return chunks
}

/** The floor: COPY of the same rows into the same table. Returns seconds and how it was done. */
async function copyResources(stack: Stack, rows: ResourceInput[]): Promise<{ seconds: number; method: string }> {
  const chunks = copyText(stack.space, rows)
  if (stack.store.pglite) {
    // PGlite has no COPY FROM STDIN; it reads COPY input from a blob passed with the query. Nothing
    // else runs on the database meanwhile, so bypassing the Db's statement queue is safe here.
    const blob = new Blob(chunks)
    const started = performance.now()
    await stack.store.pglite.query(`${COPY_SQL} '/dev/blob'`, [], { blob })
    return { seconds: (performance.now() - started) / 1000, method: "COPY … FROM '/dev/blob' (PGlite)" }
  }
  if (stack.store.location.kind !== 'postgres') throw new Error('PostgreSQL store without a URL')
  const client = new pg.Client({ connectionString: stack.store.location.url })
  await client.connect()
  try {
    const started = performance.now()
    await pipeline(Readable.from(chunks), client.query(copyFrom(`${COPY_SQL} STDIN`)))
    return { seconds: (performance.now() - started) / 1000, method: 'COPY … FROM STDIN (pg-copy-streams, one connection)' }
  } finally {
    await client.end()
  }
}

async function countResources(stack: Stack): Promise<number> {
  const { rows } = await stack.db.query<{ count: number }>('SELECT count(*)::int AS count FROM resources WHERE space_id = $1', [stack.space])
  return rows[0]?.count ?? 0
}

/**
 * 3. N resources through the SDK's client.resource.bulkUpdate (batches of 1,000, four in flight,
 * over HTTP to the real server), against COPY of the same rows into the same, emptied table.
 */
export const bulkUpload: Scenario = {
  name: 'bulk-upload',
  number: 3,
  title: 'Bulk upload',
  async run(ctx) {
    const count = ctx.sizes.resources
    const stack = await ctx.stack()
    const token = await stack.serviceToken('bench-uploader', 'admin', ['resources:write'])
    const rows = customers(count)

    const copy = await copyResources(stack, rows)
    if ((await countResources(stack)) !== count) throw new Error('COPY did not store every row')
    // Both arms start from an empty table with the same indexes.
    await stack.db.query('TRUNCATE resources')

    const client = new GatehouseAPI({ baseUrl: stack.baseUrl, space: stack.space, token, maxRetries: 0 })
    const bar = ctx.progress('bulkUpdate, resources uploaded', count)
    let shown = 0
    const started = performance.now()
    try {
      const result = await ctx.profile('upload', () => client.resource.bulkUpdate({
        resources: rows,
        onProgress: ({ done }) => {
          bar.tick(done - shown)
          shown = done
        },
      }))
      if (result.changed !== count) throw new Error(`bulkUpdate changed ${result.changed} of ${count} resources`)
    } finally {
      bar.stop()
    }
    const seconds = (performance.now() - started) / 1000
    if ((await countResources(stack)) !== count) throw new Error('bulkUpdate did not store every row')

    const perSecond = count / seconds
    const copyPerSecond = count / copy.seconds
    const applies = ctx.store === 'postgres'
    return {
      summary: {
        gatehouse: `${formatNumber(perSecond)} resources/s (${formatNumber(seconds, seconds < 10 ? 2 : 1)} s)`,
        baseline: `${formatNumber(copyPerSecond)} resources/s (${formatNumber(copy.seconds, copy.seconds < 10 ? 2 : 1)} s)`,
      },
      figures: {
        gatehouse: { throughput: { value: round(perSecond), unit: 'resources/s' }, seconds: { value: round(seconds, 3), unit: 's' } },
        baseline: { throughput: { value: round(copyPerSecond), unit: 'resources/s' }, seconds: { value: round(copy.seconds, 3), unit: 's' } },
      },
      ratios: [{ name: 'time', value: seconds / copy.seconds, formula: 'bulkUpdate seconds ÷ COPY seconds' }],
      goal: {
        text: `≥ ${formatNumber(GOAL_PER_SECOND)} resources/s${applies ? '' : ' (PostgreSQL only)'}`,
        met: applies ? perSecond >= GOAL_PER_SECOND : null,
      },
      sizes: { resources: count, batchSize: 1000, concurrency: 4 },
      notes: [`Baseline: ${copy.method}, same rows, same table and indexes, emptied (TRUNCATE) before the SDK upload.`],
    }
  },
}
