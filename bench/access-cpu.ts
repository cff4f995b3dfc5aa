/**
 * `npx tsx bench/access-cpu.ts [--store pglite|postgres|both] [--seconds S] [--rounds R] [--connections C] [--rate N] [--cpu-prof]`
 *
 * CPU time per request of scenario 1's two arms — Gatehouse's granted approval() and the floor's bare
 * route — in a process that holds only the two servers: the load comes from a child process, so this
 * process's CPU (process.cpuUsage) is the servers' alone, and on PostgreSQL the backends' is read from
 * /proc beside it. Unlike throughput, this barely moves with the machine's load (the servers do the
 * same work per request whoever else runs), so on a shared machine it is the figure to compare
 * before and after a change. Arms alternate (ABBA per round) after a warm-up of each.
 *
 * With `--rate`, both arms get the same fixed request rate: a server answering more requests per
 * event-loop turn spends less CPU on each, so at full speed the faster arm is also the cheaper one
 * per request for that reason alone; at one rate both are compared doing the same thing.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Command, Option } from 'commander'
import type { StoreKind } from '../packages/server/src/db/db.js'
import { prepareAccessCheck, startAccessFloor } from './lib/access-fixture.js'
import { withCpuProfile } from './lib/cpu-profile.js'
import { round } from './lib/data.js'
import { cpuBetween, postgresBackendCpu } from './lib/evidence.js'
import type { LoadChildMessage } from './lib/load-child.js'
import type { LoadOptions, LoadResult } from './lib/load.js'
import { resolveStores } from './lib/runner.js'
import { startStack } from './lib/stack.js'

const CHILD = fileURLToPath(new URL('./lib/load-child.ts', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url))

const program = new Command()
  .addOption(new Option('--store <store>', 'pglite | postgres | both').choices(['pglite', 'postgres', 'both']).default('both'))
  .option('--seconds <s>', 'seconds per measured run', Number, 5)
  .option('--rounds <n>', 'ABBA rounds (each runs every arm twice)', Number, 2)
  .option('--connections <n>', 'keep-alive connections', Number, 16)
  .option('--filler-grants <n>', "other people's grants", Number, 10_000)
  .option('--rate <n>', 'requests per second, the same for both arms (default: as fast as each answers)', Number)
  .option('--cpu-prof', 'write a CPU profile of each arm (bench/results/prof/)', false)
  .option('--trace', "count Gatehouse's statements per request under the load (the statement tracer, on during its runs)", false)
  .parse()
const flags = program.opts<{ store: 'pglite' | 'postgres' | 'both'; seconds: number; rounds: number; connections: number; fillerGrants: number; cpuProf: boolean; rate?: number; trace: boolean }>()

function fireFromChild(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [JSON.stringify(options)], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    let settled = false
    child.on('message', (message: LoadChildMessage) => {
      settled = true
      if (message.type === 'done') resolve(message.result)
      else reject(new Error(message.message))
    })
    child.on('exit', (code) => {
      if (!settled) reject(new Error(`load child exited (${code}) without a result`))
    })
  })
}

type Arm = 'gatehouse' | 'floor'

async function measureStore(store: StoreKind, adminUrl: string | null) {
  const stack = await startStack(store, { adminUrl, trace: flags.trace })
  try {
    const fixture = await prepareAccessCheck(stack, flags.fillerGrants)
    const floor = await startAccessFloor(stack)
    try {
      const payload = JSON.stringify(fixture.body)
      const target = (arm: Arm, seconds: number): LoadOptions => ({
        url: arm === 'gatehouse' ? `${stack.baseUrl}/v1/spaces/${stack.space}/approvals` : floor.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(arm === 'gatehouse' ? { authorization: `Bearer ${fixture.portalToken}` } : {}) },
        body: payload,
        connections: flags.connections,
        seconds,
        ...(flags.rate !== undefined ? { overallRate: flags.rate } : {}),
      })
      const totals: Record<Arm, { requests: number; micros: number; backendMicros: number }> = {
        gatehouse: { requests: 0, micros: 0, backendMicros: 0 },
        floor: { requests: 0, micros: 0, backendMicros: 0 },
      }
      const run = async (arm: Arm, keep: boolean, profileName?: string) => {
        const backendsBefore = store === 'postgres' ? await postgresBackendCpu(stack.db) : null
        // The child's start-up happens before its first request: CPU of this process meanwhile is idle.
        const before = process.cpuUsage()
        const load = () => fireFromChild(target(arm, keep || profileName ? flags.seconds : 2))
        let result: LoadResult
        if (profileName) result = await withCpuProfile('bench/results/prof', profileName, load, 100)
        else if (stack.tracer && arm === 'gatehouse' && keep) {
          let answered: LoadResult | null = null
          const trace = await stack.tracer.record(1, async () => {
            answered = await load()
          })
          result = answered!
          const per = (count: number) => round(count / result.requests, 3)
          process.stderr.write(`  statements per request under load: ${trace.statements.map((cost) => `${cost.statement.slice(0, 40)}… ×${per(cost.perUnit)}`).join(', ')}\n`)
        } else result = await load()
        const used = process.cpuUsage(before)
        const backendsAfter = store === 'postgres' ? await postgresBackendCpu(stack.db) : null
        if (result.failures > 0) throw new Error(`${arm}: ${result.failures} failed requests`)
        if (profileName) process.stderr.write(`  profile ${profileName}: ${result.requests} requests\n`)
        if (!keep) return
        totals[arm].requests += result.requests
        totals[arm].micros += used.user + used.system
        if (backendsBefore && backendsAfter) totals[arm].backendMicros += cpuBetween(backendsBefore, backendsAfter)
        process.stderr.write(`  ${store} ${arm}: ${result.requests} requests, ${round((used.user + used.system) / result.requests, 1)} µs/request, ${round(result.perSecond, 0)} req/s\n`)
      }
      await run('gatehouse', false)
      await run('floor', false)
      for (let round = 0; round < flags.rounds; round += 1) {
        for (const arm of ['floor', 'gatehouse', 'gatehouse', 'floor'] as const) await run(arm, true)
      }
      if (flags.cpuProf) {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-')
        await run('gatehouse', false, `${store}-access-cpu-gatehouse-${stamp}`)
        await run('floor', false, `${store}-access-cpu-floor-${stamp}`)
      }
      const per = (arm: Arm) => ({
        processMicrosPerRequest: round(totals[arm].micros / totals[arm].requests, 1),
        backendMicrosPerRequest: store === 'postgres' ? round(totals[arm].backendMicros / totals[arm].requests, 1) : null,
        requests: totals[arm].requests,
      })
      return { store, gatehouse: per('gatehouse'), floor: per('floor') }
    } finally {
      await floor.close()
    }
  } finally {
    await stack.close()
  }
}

const { stores, adminUrl } = await resolveStores(flags.store)
for (const store of stores) {
  const result = await measureStore(store, adminUrl)
  const extra = round(result.gatehouse.processMicrosPerRequest - result.floor.processMicrosPerRequest, 1)
  process.stdout.write(
    `${store}: Gatehouse ${result.gatehouse.processMicrosPerRequest} µs/request, floor ${result.floor.processMicrosPerRequest} µs/request (+${extra} µs, ${round(result.gatehouse.processMicrosPerRequest / result.floor.processMicrosPerRequest, 2)}×)` +
      (result.gatehouse.backendMicrosPerRequest !== null ? `; backends ${result.gatehouse.backendMicrosPerRequest} vs ${result.floor.backendMicrosPerRequest} µs/request` : '') +
      ` [${result.gatehouse.requests} / ${result.floor.requests} requests]\n`,
  )
}
process.exit(0)
