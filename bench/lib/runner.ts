import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { StoreKind } from '../../packages/server/src/db/db.js'
import { scenarios as allScenarios } from '../scenarios/index.js'
import { withCpuProfile } from './cpu-profile.js'
import { progressBar } from './progress.js'
import { largestRatio, machine, renderDetails, renderTable, revision, type BenchReport, type ScenarioRecord } from './report.js'
import { DEFAULT_SIZES, QUICK_SIZES } from './sizes.js'
import { startStack, type Stack } from './stack.js'
import { assertLoopback, LOCAL_POSTGRES, postgresAnswers } from './stores.js'
import type { Scenario, ScenarioContext, Sizes } from './types.js'

export type StoreChoice = StoreKind | 'both'

export interface BenchOptions {
  stores: StoreKind[]
  /** The PostgreSQL server on which each scenario gets a database of its own (needed for 'postgres'). */
  adminUrl: string | null
  quick: boolean
  /** Scenario names; all when empty. */
  scenarios?: string[]
  outDir: string
  /** Overrides of the default or quick sizes (the smoke test makes them tiny). */
  sizes?: Partial<Sizes>
  /** Progress bars on stderr; default: when stderr is a terminal. */
  progress?: boolean
  /** What produced this run, recorded in the JSON. */
  command?: string
  /** Write CPU profiles of the measured phases that scenarios mark (ctx.profile) into this folder. */
  cpuProfileDir?: string
  log?: (line: string) => void
}

export interface BenchOutcome {
  report: BenchReport
  file: string
  table: string
  details: string
  failed: number
}

/**
 * Which stores to run on: as asked; by default PGlite, plus PostgreSQL when DATABASE_URL is set or
 * a server answers on 127.0.0.1:5432.
 */
export async function resolveStores(choice: StoreChoice | undefined, env: NodeJS.ProcessEnv = process.env): Promise<{ stores: StoreKind[]; adminUrl: string | null }> {
  const wanted = choice === 'both' ? ['pglite', 'postgres'] : choice ? [choice] : null
  if (wanted && !wanted.includes('postgres')) return { stores: ['pglite'], adminUrl: null }
  const configured = env.DATABASE_URL || null
  if (configured) assertLoopback(configured)
  let adminUrl = configured
  if (!adminUrl && (wanted === null || wanted.includes('postgres')) && (await postgresAnswers(LOCAL_POSTGRES))) adminUrl = LOCAL_POSTGRES
  if (wanted === null) return { stores: adminUrl ? ['pglite', 'postgres'] : ['pglite'], adminUrl }
  if (wanted.includes('postgres') && !adminUrl) {
    throw new Error(`--store ${choice}: no PostgreSQL. Set DATABASE_URL (on 127.0.0.1) or start one at ${LOCAL_POSTGRES}`)
  }
  return { stores: wanted as StoreKind[], adminUrl }
}

export function selectScenarios(names: string[] | undefined): Scenario[] {
  if (!names?.length) return allScenarios
  return names.map((name) => {
    const found = allScenarios.find((scenario) => scenario.name === name || String(scenario.number) === name)
    if (!found) throw new Error(`no scenario '${name}'; there are: ${allScenarios.map((scenario) => scenario.name).join(', ')}`)
    return found
  })
}

export async function runBench(options: BenchOptions): Promise<BenchOutcome> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const sizes: Sizes = { ...(options.quick ? QUICK_SIZES : DEFAULT_SIZES), ...options.sizes }
  const selected = selectScenarios(options.scenarios)
  const showProgress = options.progress ?? Boolean(process.stderr.isTTY)
  const startedAt = new Date()
  const started = performance.now()
  const measured = revision()
  const results: ScenarioRecord[] = []

  for (const store of options.stores) {
    for (const scenario of selected) {
      const stacks: Stack[] = []
      const context: ScenarioContext = {
        store,
        sizes,
        quick: options.quick,
        async stack(stackOptions = {}) {
          const stack = await startStack(store, { ...stackOptions, adminUrl: options.adminUrl })
          stacks.push(stack)
          return stack
        },
        progress: (label, total) => progressBar(label, total, showProgress),
        profile: (label, work) => (options.cpuProfileDir ? withCpuProfile(options.cpuProfileDir, `${store}-${scenario.name}-${label}`, work) : work()),
        log: (line) => log(`    ${line}`),
      }
      log(`${scenario.number}. ${scenario.title} on ${store}…`)
      const scenarioStarted = performance.now()
      const record: ScenarioRecord = {
        scenario: scenario.name,
        number: scenario.number,
        title: scenario.title,
        store,
        ok: false,
        seconds: 0,
        storeVersion: null,
        result: null,
        error: null,
      }
      try {
        record.result = await scenario.run(context)
        const [headline] = record.result.ratios
        if (!Number.isFinite(headline.value) || headline.value <= 0) throw new Error(`ratio ${headline.name} is ${headline.value}`)
        record.ok = true
      } catch (error) {
        record.error = (error as Error).message
        log(`    failed: ${(error as Error).stack ?? String(error)}`)
      } finally {
        record.storeVersion = stacks[0]?.store.version ?? null
        // Every stack is closed and its database dropped, whatever the scenario did.
        for (const stack of stacks) await stack.close().catch((error: unknown) => log(`    cleanup failed: ${(error as Error).message}`))
        record.seconds = Math.round(performance.now() - scenarioStarted) / 1000
      }
      results.push(record)
      if (record.ok) log(`    done in ${record.seconds.toFixed(1)} s`)
    }
  }

  const report: BenchReport = {
    command: options.command ?? 'runBench()',
    revision: measured,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    seconds: Math.round(performance.now() - started) / 1000,
    quick: options.quick,
    stores: options.stores,
    machine: machine(),
    sizes,
    results,
  }
  mkdirSync(options.outDir, { recursive: true })
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-')
  const file = join(options.outDir, `bench-${stamp}${options.quick ? '-quick' : ''}-${options.stores.join('-')}.json`)
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)

  const table = renderTable(results)
  const worst = largestRatio(results)
  const details = [
    renderDetails(results),
    worst?.result ? `Largest ratio: ${worst.number}. ${worst.title} on ${worst.store}, ${worst.result.ratios[0].value.toFixed(2)}× (${worst.result.ratios[0].formula}).` : '',
  ]
    .filter(Boolean)
    .join('\n')
  return { report, file, table, details, failed: results.filter((record) => !record.ok).length }
}
