import { performance } from 'node:perf_hooks'
import { formatNumber, round, runConcurrently } from '../lib/data.js'
import { postFind, type FindPage } from '../lib/find-floor.js'
import { startSequentialLoad, type LoadResult } from '../lib/load.js'
import type { Stack } from '../lib/stack.js'
import type { TraceReport } from '../lib/statement-tracer.js'
import type { Scenario, ScenarioContext } from '../lib/types.js'
import { vaultToken, type VaultClient } from '../lib/vault-fixture.js'

/** Issue 17's goals: an encrypted equality find ≤ 1.5× a plain indexed one; decrypting a 100-record page ≤ 1 ms; an encrypted import ≥ 0.5× the plain rate. */
const GOAL_FIND = 1.5
const GOAL_PAGE_MS = 1
const GOAL_IMPORT = 0.5
/** The import as an application would run it: batches of 100 records, four calls in flight. */
const BATCH = 100
const IN_FLIGHT = 4
/** Rows per `tag` (and per `email`): what the selective finds match. */
const PER_TAG = 10
/** Rows per `batch_no`: one page. */
const PAGE = 100

const PLAIN = 'people_plain'
const SEALED = 'people_sealed'

/**
 * One person record; both models hold the same ones. `tag` and `email` have the same 10 rows per
 * value, so a find by either answers the same records. Values vary in length as names do.
 */
function person(index: number, records: number) {
  const tags = Math.max(1, Math.floor(records / PER_TAG))
  const names = ['Ada', 'Grace', 'Hedy', 'Radia', 'Barbara', 'Frances', 'Katherine', 'Margaret']
  return {
    id: `p_${String(index).padStart(7, '0')}`,
    batch_no: Math.floor(index / PAGE),
    tag: `t_${index % tags}`,
    first_name: names[index % names.length]!,
    last_name: `Lovelace-${(index * 2654435761) % 1_000_003}`,
    email: `person-${index % tags}@example.com`,
  }
}

/** The two models: the same fields, the sealed one with first_name, last_name and email encrypted (email equality-searchable). */
function models(records: number) {
  const base = { id: { type: 'string' }, batch_no: { type: 'integer', searchable: true }, tag: { type: 'string', searchable: true } }
  return {
    [PLAIN]: { name: PLAIN, primaryKey: 'id', fields: { ...base, first_name: { type: 'string' }, last_name: { type: 'string' }, email: { type: 'string', searchable: true } } },
    [SEALED]: {
      name: SEALED,
      primaryKey: 'id',
      fields: {
        ...base,
        first_name: { type: 'string', encrypted: true },
        last_name: { type: 'string', encrypted: true },
        // Sized for what the model holds, so the index keeps CipherSweet's ≥ 2 expected false positives per lookup.
        email: { type: 'string', encrypted: true, searchable: 'equality', expectedRows: records },
      },
    },
  }
}

async function client(stack: Stack): Promise<VaultClient> {
  const acl = { source: 'none' }
  const policy = await stack.api<{ id: string }>('POST', `/v1/spaces/${stack.space}/vault/policies`, {
    body: { name: 'bench encryption', rules: { [PLAIN]: { actions: ['read', 'write'], acl }, [SEALED]: { actions: ['read', 'write'], acl } } },
  })
  return stack.api<VaultClient>('POST', `/v1/spaces/${stack.space}/vault/clients`, { body: { name: 'bench encryption', policyId: policy.id } })
}

/** Imports records [from, to) into `model` through the batch endpoint; answers the seconds it took. */
async function importSlice(stack: Stack, token: string, model: string, from: number, to: number, records: number): Promise<number> {
  const calls = Math.ceil((to - from) / BATCH)
  const started = performance.now()
  await runConcurrently(calls, IN_FLIGHT, async (call) => {
    const first = from + call * BATCH
    const body = JSON.stringify({ records: Array.from({ length: Math.min(BATCH, to - first) }, (_, i) => person(first + i, records)) })
    const response = await fetch(`${stack.baseUrl}/api/models/${model}/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body })
    if (response.status !== 201) throw new Error(`POST /api/models/${model}/batch: ${response.status} ${(await response.text()).slice(0, 300)}`)
    await response.arrayBuffer()
  })
  return (performance.now() - started) / 1000
}

interface Measured {
  mean: number
  p50: number
  p99: number
  finds: number
}
const measured = (result: LoadResult): Measured => ({ mean: result.mean, p50: result.p50, p99: round(result.p99, 2), finds: result.requests })
/** The records and total, without the timestamps (each model's copy was written at its own time). */
const sameAnswer = (page: FindPage) => JSON.stringify({ data: page.data.map(({ created_at: _c, updated_at: _u, ...record }) => record), total: page.meta.total })

/**
 * 7. Encrypted fields (issue 17), three pairs in one run, each pair on the same records: an
 * equality find through a blind index against the same find on a plain indexed field; a 100-record
 * page with three encrypted fields against the same page from a plain model; and the import of
 * those records through the batch endpoint, encrypted against plain.
 */
export const vaultEncryption: Scenario = {
  name: 'vault-encryption',
  number: 7,
  title: 'Vault encryption',
  async run(ctx: ScenarioContext) {
    const { sizes } = ctx
    const records = sizes.encryptionRecords
    const stack = await ctx.stack({ trace: true })
    for (const model of Object.values(models(records))) await stack.api('POST', `/v1/spaces/${stack.space}/vault/models`, { body: model })
    const vault = await client(stack)

    // Import: the same slices into each model in turn, the order mirrored per round, so drift and
    // the tables' growth weigh on both alike.
    const rounds = 4
    const seconds: Record<string, number> = { [PLAIN]: 0, [SEALED]: 0 }
    const bar = ctx.progress('people (import, both models)', records * 2)
    try {
      for (let pass = 0; pass < rounds; pass += 1) {
        const from = Math.floor((records * pass) / rounds)
        const to = Math.floor((records * (pass + 1)) / rounds)
        const token = await vaultToken(stack.baseUrl, vault)
        for (const model of pass % 2 === 0 ? [PLAIN, SEALED] : [SEALED, PLAIN]) {
          seconds[model] = seconds[model]! + await ctx.profile(`import-${model}-${pass}`, () => importSlice(stack, token, model, from, to, records))
          bar.tick(to - from)
        }
      }
    } finally {
      bar.stop()
    }
    for (const model of [PLAIN, SEALED]) {
      const { rows } = await stack.db.query<{ table_name: string }>('SELECT table_name FROM vault_models WHERE space_id = $1 AND name = $2', [stack.space, model])
      await stack.db.query(`VACUUM ANALYZE vault."${rows[0]!.table_name}"`)
    }
    const rate = (model: string) => records / seconds[model]!!
    const importRatio = rate(SEALED) / rate(PLAIN)

    // Finds: each pair answers the same records before it is timed.
    const probe = Math.floor(records / 2)
    const target = person(probe, records)
    const pairs = {
      find: {
        encrypted: { model: SEALED, body: { filter: { email: target.email } } },
        plain: { model: SEALED, body: { filter: { tag: target.tag } } },
      },
      page: {
        encrypted: { model: SEALED, body: { filter: { batch_no: target.batch_no }, options: { limit: PAGE } } },
        plain: { model: PLAIN, body: { filter: { batch_no: target.batch_no }, options: { limit: PAGE } } },
      },
    } as const
    type Pair = keyof typeof pairs
    type Side = 'encrypted' | 'plain'
    const token = await vaultToken(stack.baseUrl, vault)
    const headers = { authorization: `Bearer ${token}` }
    const url = (model: string) => `${stack.baseUrl}/api/models/${model}/find`
    const rowsOf = {} as Record<Pair, number>
    for (const [name, pair] of Object.entries(pairs) as Array<[Pair, (typeof pairs)[Pair]]>) {
      const encrypted = await postFind(url(pair.encrypted.model), headers, JSON.stringify(pair.encrypted.body))
      const plain = await postFind(url(pair.plain.model), headers, JSON.stringify(pair.plain.body))
      if (sameAnswer(encrypted) !== sameAnswer(plain)) throw new Error(`${name}: the encrypted arm answered ${sameAnswer(encrypted).slice(0, 300)}, the plain arm ${sameAnswer(plain).slice(0, 300)}`)
      const expected = name === 'find' ? Math.min(PER_TAG, records) : Math.min(PAGE, records)
      if (encrypted.data.length !== expected) throw new Error(`${name}: ${encrypted.data.length} records, expected ${expected}; the arm would not measure what it says`)
      rowsOf[name] = encrypted.data.length
    }

    const loader = startSequentialLoad()
    const results = {} as Record<Pair, Record<Side, Measured>>
    const traces = {} as Record<Pair, Record<Side, TraceReport>>
    try {
      let flip = false
      for (const [name, pair] of Object.entries(pairs) as Array<[Pair, (typeof pairs)[Pair]]>) {
        results[name] = {} as Record<Side, Measured>
        flip = !flip
        for (const side of flip ? (['encrypted', 'plain'] as const) : (['plain', 'encrypted'] as const)) {
          const options = { url: url(pair[side].model), headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(pair[side].body) }
          await loader.run({ ...options, seconds: sizes.findWarmupSeconds })
          const result = await ctx.profile(`${name}-${side}`, () => loader.run({ ...options, seconds: sizes.findSeconds }))
          if (result.failures > 0) throw new Error(`${name} ${side}: ${result.failures} failed finds; the run is void`)
          results[name][side] = measured(result)
        }
      }
      // The statements behind each find, traced after the measured runs (which ran untraced): the
      // encrypted arms send what the plain ones send, the field keys coming from the cache.
      for (const [name, pair] of Object.entries(pairs) as Array<[Pair, (typeof pairs)[Pair]]>) {
        traces[name] = {} as Record<Side, TraceReport>
        for (const side of ['encrypted', 'plain'] as const) {
          const finds = ctx.quick ? 10 : 50
          traces[name][side] = await stack.tracer!.record(finds, async () => {
            for (let i = 0; i < finds; i += 1) await postFind(url(pair[side].model), headers, JSON.stringify(pair[side].body))
          })
        }
      }
    } finally {
      await loader.close()
    }

    const findRatio = results.find.encrypted.mean / results.find.plain.mean
    const pageMs = results.page.encrypted.mean - results.page.plain.mean
    const pageP50Ms = results.page.encrypted.p50 - results.page.plain.p50
    // A difference is not a ratio: the table's ratio for the page is encrypted ÷ plain; the goal checks the difference.
    const pageRatio = results.page.encrypted.mean / results.page.plain.mean
    const ms = (value: number) => formatNumber(value, value < 10 ? 2 : 1)
    const statementsOf = (pair: Pair, side: Side) => round(traces[pair][side].statementsPerUnit, 1)
    // Which statements, by their first words: a key lookup (space_data_keys, vault_index_keys) would show here.
    const statementNames = (trace: TraceReport) => trace.statements.map((cost) => `${cost.statement.split(' ').slice(0, 6).join(' ')}… ×${round(cost.perUnit, 1)}`).join('; ')
    const figures = (side: Side) => ({
      'find.ms': { value: round(results.find[side].mean, 3), unit: 'ms/find' },
      'find.p50': { value: round(results.find[side].p50, 3), unit: 'ms' },
      'find.p99': { value: results.find[side].p99, unit: 'ms' },
      'find.statements': { value: statementsOf('find', side), unit: 'statements/find' },
      'page.ms': { value: round(results.page[side].mean, 3), unit: 'ms/find' },
      'page.p50': { value: round(results.page[side].p50, 3), unit: 'ms' },
      'page.p99': { value: results.page[side].p99, unit: 'ms' },
      'page.statements': { value: statementsOf('page', side), unit: 'statements/find' },
      'import.recordsPerSecond': { value: round(rate(side === 'encrypted' ? SEALED : PLAIN)), unit: 'records/s' },
      'import.seconds': { value: round(seconds[side === 'encrypted' ? SEALED : PLAIN]!, 2), unit: 's' },
    })
    return {
      summary: {
        gatehouse: `find by encrypted email ${ms(results.find.encrypted.mean)} ms · 100-record page, 3 encrypted fields ${ms(results.page.encrypted.mean)} ms (p50 ${ms(results.page.encrypted.p50)}) · import ${formatNumber(rate(SEALED))} records/s`,
        baseline: `find by plain indexed tag ${ms(results.find.plain.mean)} ms · same page, plain model ${ms(results.page.plain.mean)} ms (p50 ${ms(results.page.plain.p50)}) · import ${formatNumber(rate(PLAIN))} records/s`,
      },
      figures: { gatehouse: figures('encrypted'), baseline: figures('plain') },
      ratios: [
        { name: 'encrypted find', value: findRatio, formula: `ms per find by an encrypted, equality-searchable field ÷ ms per find by a plain indexed field (same model, same ${rowsOf.find} records)` },
        { name: 'page decryption', value: pageRatio, formula: `ms per 100-record page with 3 encrypted fields ÷ the same page from a plain model (the goal is on the difference: ${ms(pageMs)} ms mean, ${ms(pageP50Ms)} ms p50)` },
        { name: 'import rate', value: rate(PLAIN) / rate(SEALED), formula: `plain import records/s ÷ encrypted import records/s (the goal: encrypted ≥ ${GOAL_IMPORT}× plain, i.e. this ≤ ${1 / GOAL_IMPORT}; now ${round(importRatio, 2)}×)` },
      ],
      goal: {
        text: `find ≤ ${GOAL_FIND}×; page decryption ≤ ${GOAL_PAGE_MS} ms; import ≥ ${GOAL_IMPORT}× plain rate`,
        met: findRatio <= GOAL_FIND && pageMs <= GOAL_PAGE_MS && importRatio >= GOAL_IMPORT,
      },
      sizes: { records, batch: BATCH, inFlight: IN_FLIGHT, findRows: rowsOf.find, pageRows: rowsOf.page },
      notes: [
        `Models: ${PLAIN} and ${SEALED}, the same ${formatNumber(records)} records; in ${SEALED} first_name, last_name and email are encrypted (AES-256-GCM), email with a blind index sized for ${formatNumber(records)} rows.`,
        `Encrypted find: ${SEALED} by email (blind-index lookup, then the exact check after decryption) against ${SEALED} by tag (a plain indexed column), both matching the same ${rowsOf.find} records and returning them decrypted: ${ms(results.find.encrypted.mean)} vs ${ms(results.find.plain.mean)} ms (${round(findRatio, 2)}×; goal ≤ ${GOAL_FIND}×).`,
        `Page decryption: 100 records by batch_no (a plain indexed column in both) from ${SEALED} against ${PLAIN}, the answers compared equal: +${ms(pageMs)} ms mean, +${ms(pageP50Ms)} ms p50 per find (goal ≤ ${GOAL_PAGE_MS} ms).`,
        `Import: POST /api/models/{m}/batch, ${BATCH} records a call, ${IN_FLIGHT} in flight, in ${rounds} rounds alternating which model goes first: ${formatNumber(rate(SEALED))} vs ${formatNumber(rate(PLAIN))} records/s (${round(importRatio, 2)}×; goal ≥ ${GOAL_IMPORT}×).`,
        `Statements per find (${ctx.quick ? 10 : 50} traced): encrypted find ${statementsOf('find', 'encrypted')}, plain ${statementsOf('find', 'plain')}; encrypted page ${statementsOf('page', 'encrypted')}, plain ${statementsOf('page', 'plain')}. The encrypted find's: ${statementNames(traces.find.encrypted)}.`,
        `Timing: finds back to back on one keep-alive connection from a worker thread, ${sizes.findWarmupSeconds} s warm-up + ${sizes.findSeconds} s per arm, the order mirrored from one pair to the next.`,
      ],
      evidence: { statementsPerFind: traces },
    }
  },
}
