import { formatNumber } from '../lib/data.js'
import { postFind } from '../lib/find-floor.js'
import { measureMemory, memoryCell, memoryFigures, memoryGoal, memoryRatio, rssCurves, SAMPLE_MS, storeOpenNote, type MemoryArm } from '../lib/memory-arm.js'
import type { StoreLocation } from '../lib/stores.js'
import type { Scenario } from '../lib/types.js'
import { createTicketsModel, fillTickets, ticketId, vaultClient, vaultToken, type VaultClient } from '../lib/vault-fixture.js'

const PAGE = 100

/** The offsets of `pages` pages spread evenly from the first page to the last of a `rows`-row find. */
export function pageOffsets(rows: number, pages: number): number[] {
  const last = Math.max(0, rows - PAGE)
  if (pages <= 1) return [0]
  return Array.from({ length: pages }, (_, index) => Math.round((last * index) / (pages - 1) / PAGE) * PAGE)
}

interface Paged {
  pages: number
  records: number
  totals: Set<number>
  firstIds: string[]
}

function measureFind(arm: MemoryArm, location: StoreLocation, space: string, tableName: string, client: VaultClient, offsets: number[], timeoutSeconds: number) {
  let headers: Record<string, string> = {}
  const path = arm === 'gatehouse' ? '/api/models/tickets/find' : '/find'
  return measureMemory<Paged>({
    arm,
    location,
    space,
    findTable: tableName,
    timeoutSeconds,
    async warmUp(base) {
      // The vault token comes from the child's own server: its keys live in the store it opened.
      if (arm === 'gatehouse') headers = { authorization: `Bearer ${await vaultToken(base, client)}` }
      // One record by id through the same find: the code runs, the table is not read into the buffer pool before idle.
      const one = await postFind(`${base}${path}`, headers, JSON.stringify({ filter: { ticket_id: ticketId(1) } }))
      if (one.data.length !== 1) throw new Error(`${arm}: the warm-up found ${one.data.length} records, not 1`)
    },
    async work(base) {
      const paged: Paged = { pages: 0, records: 0, totals: new Set(), firstIds: [] }
      for (const offset of offsets) {
        const page = await postFind(`${base}${path}`, headers, JSON.stringify({ filter: {}, options: { limit: PAGE, offset } }), timeoutSeconds * 1000)
        paged.pages += 1
        paged.records += page.data.length
        paged.totals.add(page.meta.total)
        paged.firstIds.push(String(page.data[0]?.ticket_id))
      }
      return paged
    },
  })
}

/**
 * 5 (find half). Peak RSS above idle of the server process while a client pages through a find that
 * matches every row of a 1,000,000-row model — pages of 100 from the first to the last — against the
 * same pages served by a hand-written route. Each server runs in a child process of its own.
 */
export const findMemory: Scenario = {
  name: 'find-memory',
  number: 5,
  title: 'Memory: paged find',
  async run(ctx) {
    const rows = ctx.sizes.pagedRows
    const stack = await ctx.stack({ onDisk: true })
    const tableName = await createTicketsModel(stack)
    await fillTickets(stack, tableName, rows, ctx.progress('tickets (fill)', rows))
    // A field policy without an ACL: an external ACL refuses a find with more than 10,000 candidates.
    const client = await vaultClient(stack, 'bench paging', { source: 'none' })
    const sharedBuffers = (await stack.db.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]?.shared_buffers ?? '?'
    const location = await stack.release()

    const offsets = pageOffsets(rows, ctx.sizes.pagedPages)
    const timeoutSeconds = Math.max(120, Math.ceil(rows / 2_000))
    ctx.log(`find: ${formatNumber(rows)} rows, ${offsets.length} pages of ${PAGE} from offset 0 to ${formatNumber(offsets[offsets.length - 1]!)}, RSS sampled every ${SAMPLE_MS} ms in the server's own process`)
    const baseline = await measureFind('baseline', location, stack.space, tableName, client, offsets, timeoutSeconds)
    const gatehouse = await measureFind('gatehouse', location, stack.space, tableName, client, offsets, timeoutSeconds)
    for (const [arm, result] of [['baseline', baseline], ['gatehouse', gatehouse]] as const) {
      const { pages, records, totals } = result.outcome
      if (pages !== offsets.length || records !== offsets.length * Math.min(PAGE, rows) || totals.size !== 1 || !totals.has(rows)) {
        throw new Error(`${arm}: ${pages} pages, ${records} records, totals ${[...totals].join(', ')}; expected ${offsets.length} full pages of a ${rows}-row find`)
      }
    }
    if (gatehouse.outcome.firstIds.join() !== baseline.outcome.firstIds.join()) throw new Error('the two arms served different pages')

    type Measured = typeof gatehouse
    const perPage = (arm: Measured) => (arm.seconds * 1000) / arm.outcome.pages
    const cell = (arm: Measured) => `${memoryCell(arm)} · ${formatNumber(perPage(arm))} ms/page`
    return {
      summary: { gatehouse: cell(gatehouse), baseline: cell(baseline) },
      figures: {
        gatehouse: { ...memoryFigures(gatehouse), perPage: { value: Math.round(perPage(gatehouse)), unit: 'ms/page' } },
        baseline: { ...memoryFigures(baseline), perPage: { value: Math.round(perPage(baseline)), unit: 'ms/page' } },
      },
      ratios: [memoryRatio(gatehouse, baseline), { name: 'time per page', value: perPage(gatehouse) / perPage(baseline), formula: 'Gatehouse ms per page ÷ baseline ms per page' }],
      goal: memoryGoal(gatehouse),
      evidence: { rssMiB: rssCurves(gatehouse, baseline), offsets },
      sizes: { rows, pages: offsets.length, pageSize: PAGE, sampleMs: SAMPLE_MS },
      notes: [
        `Paged find: filter {} (every row), pages of ${PAGE} at ${offsets.length} offsets spread evenly from the first page to the last, one after another; each page also counts the whole match (meta.total), so each reads all ${formatNumber(rows)} rows. Walking all ${formatNumber(Math.ceil(rows / PAGE))} pages would take hours on either arm for the same per-page memory.`,
        'Baseline: a bare Fastify route in the same kind of child process running the same page query by hand (typed columns, the total as a count(*) subquery, ORDER BY the key, LIMIT/OFFSET).',
        ...(ctx.store === 'pglite' ? [storeOpenNote(gatehouse, sharedBuffers)] : []),
      ],
    }
  },
}
