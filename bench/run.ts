/**
 * `npm run bench [-- --quick] [--rows N] [--proof-leaves N] [--bulk-rows N] [--store pglite|postgres|both] [--scenario <name>…] [--out <dir>] [--cpu-prof]`
 * `npm run bench -- --soak <seconds> [--store …]`: the soak instead of the scenarios (lib/soak.ts).
 *
 * Each scenario measures Gatehouse against the floor a hand-written solution reaches on the same
 * machine in the same run, and reports the ratio. Prints a Markdown table on stdout (progress and
 * logs go to stderr) and writes every figure to a JSON file in bench/results/.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, InvalidArgumentError, Option } from 'commander'
import { resolveStores, runBench, selectScenarios, type StoreChoice } from './lib/runner.js'
import { runSoak } from './lib/soak.js'
import { DEFAULT_SIZES } from './lib/sizes.js'
import { dropAllStores } from './lib/stores.js'
import { scenarios } from './scenarios/index.js'

const program = new Command()
  .name('npm run bench --')
  .description('Gatehouse against hand-written floors: every figure, every ratio, on PGlite and PostgreSQL')
  .addOption(
    new Option('--store <store>', 'pglite | postgres | both (default: pglite, plus postgres when DATABASE_URL is set or 127.0.0.1:5432 answers)').choices([
      'pglite',
      'postgres',
      'both',
    ]),
  )
  .option('--quick', 'small sizes, for a fast look (about 50 s per store)', false)
  .option('--rows <count>', "rows in scenario 2's vault model (default 100,000; the full run: --rows 1000000)", (value: string) => {
    const rows = Number(value.replace(/[_,]/g, ''))
    if (!Number.isInteger(rows) || rows < 1000 || rows > 10_000_000) throw new InvalidArgumentError('a whole number from 1000 to 10000000')
    return rows
  })
  .option('--proof-leaves <count>', "leaves of scenario 4's synthetic tree for the proof timings (default 1,000,000; the issue's: --proof-leaves 10000000, PostgreSQL)", (value: string) => {
    const leaves = Number(value.replace(/[_,]/g, ''))
    if (!Number.isInteger(leaves) || leaves < 2 || leaves > 100_000_000) throw new InvalidArgumentError('a whole number from 2 to 100000000')
    return leaves
  })
  .option('--bulk-rows <count>', 'scenario 3 also uploads this many resources twice through the SDK to a server in its own process, sampling its RSS (PostgreSQL only; e.g. 1000000)', (value: string) => {
    const rows = Number(value.replace(/[_,]/g, ''))
    if (!Number.isInteger(rows) || rows < 1000 || rows > 10_000_000) throw new InvalidArgumentError('a whole number from 1000 to 10000000')
    return rows
  })
  .addOption(
    new Option('--scenario <name>', `run only these (repeatable or comma-separated): ${scenarios.map((scenario) => scenario.name).join(', ')}`)
      .argParser((value: string, previous: string[]) => {
        if (!value.trim()) throw new InvalidArgumentError('a scenario name')
        return [...previous, ...value.split(',').map((name) => name.trim())]
      })
      .default([] as string[], 'all'),
  )
  .option('--out <dir>', 'where the JSON result goes', fileURLToPath(new URL('./results/', import.meta.url)))
  .option('--soak <seconds>', 'instead of the scenarios: one server answering access checks and finds at a fixed rate this long, its RSS sampled each second (on PostgreSQL when one answers, unless --store says)', (value: string) => {
    const seconds = Number(value)
    if (!Number.isInteger(seconds) || seconds < 5 || seconds > 86_400) throw new InvalidArgumentError('a whole number of seconds from 5 to 86400')
    return seconds
  })
  .option('--no-progress', 'no progress bars')
  .option('--cpu-prof', 'also write CPU profiles of the measured phases to <out>/prof (evidence; the profiler costs time, so the figures are not comparable)', false)
  .parse()

const flags = program.opts<{ store?: StoreChoice; quick: boolean; rows?: number; proofLeaves?: number; bulkRows?: number; scenario: string[]; out: string; progress: boolean; cpuProf: boolean; soak?: number }>()

// Ctrl-C still drops the databases this run created.
process.once('SIGINT', () => {
  process.stderr.write('\ninterrupted: dropping the bench databases…\n')
  void dropAllStores().finally(() => process.exit(130))
})

try {
  if (flags.soak !== undefined) {
    const { stores, adminUrl } = await resolveStores(flags.store)
    // One soak, on the store several nodes share, unless --store asks for others.
    const soakStores = flags.store ? stores : [stores.includes('postgres') ? ('postgres' as const) : ('pglite' as const)]
    let failed = false
    for (const store of soakStores) {
      const outcome = await runSoak({
        store,
        adminUrl,
        seconds: flags.soak,
        rows: flags.rows ?? DEFAULT_SIZES.findRows,
        fillerGrants: DEFAULT_SIZES.accessFillerGrants,
        outDir: flags.out,
        progress: flags.progress && Boolean(process.stderr.isTTY),
        command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
      })
      process.stdout.write(`\n${outcome.text}\n\nJSON: ${outcome.file}\n`)
      failed ||= !(outcome.report.met.rss && outcome.report.met.errors)
    }
    process.exitCode = failed ? 1 : 0
  } else {
    selectScenarios(flags.scenario) // an unknown name fails here, before any database is made
    const { stores, adminUrl } = await resolveStores(flags.store)
    process.stderr.write(`stores: ${stores.join(', ')}${flags.quick ? ' (quick)' : ''}\n`)
    const outcome = await runBench({
      stores,
      adminUrl,
      quick: flags.quick,
      sizes: { ...(flags.rows ? { findRows: flags.rows } : {}), ...(flags.proofLeaves ? { auditProofLeaves: flags.proofLeaves } : {}), ...(flags.bulkRows ? { bulkRssRows: flags.bulkRows } : {}) },
      scenarios: flags.scenario,
      outDir: flags.out,
      ...(flags.progress ? {} : { progress: false }),
      ...(flags.cpuProf ? { cpuProfileDir: join(flags.out, 'prof') } : {}),
      command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    })
    process.stdout.write(`\n${outcome.table}\n\n${outcome.details}\n\nJSON: ${outcome.file}\nTotal: ${outcome.report.seconds.toFixed(1)} s\n`)
    process.exitCode = outcome.failed > 0 ? 1 : 0
  }
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n`)
  await dropAllStores()
  process.exitCode = 1
}
// Everything is closed by now; should a handle linger (a pool, a worker), do not hang on it.
setTimeout(() => process.exit(), 5000).unref()
