import { sha256Hex } from '../../packages/server/src/lib/secrets.js'
import { createApprovalsStore } from '../../packages/server/src/modules/approvals/approvals-store.js'
import { createAuthStore } from '../../packages/server/src/modules/auth/auth-store.js'
import { prepareAccessCheck, startAccessFloor } from '../lib/access-fixture.js'
import { formatNumber, round } from '../lib/data.js'
import { captureSql, cpuBetween, explainAnalyze, mainThreadCpu, postgresBackendCpu } from '../lib/evidence.js'
import { fire, type LoadOptions, type LoadResult } from '../lib/load.js'
import type { Scenario } from '../lib/types.js'

type Arm = 'gatehouse' | 'baseline'

/** Issue 13's goal: throughput within 1.15× of the floor's and p99 within 1.25×. */
const GOAL = { throughput: 1.15, p99: 1.25 }

/**
 * 1. approval() for a pair that holds an active grant, through the real HTTP server (token check,
 * schema validation, the service, serialisation), against a bare Fastify route in the same process
 * running the same indexed lookup — the store's own activeGrants, so the SQL cannot drift — on the
 * same Db.
 */
export const accessCheck: Scenario = {
  name: 'access-check',
  number: 1,
  title: 'Access check',
  async run(ctx) {
    const { sizes } = ctx
    const stack = await ctx.stack({ trace: true })
    const { db, space } = stack
    const { portalToken, body, client, resourceCount } = await prepareAccessCheck(stack, sizes.accessFillerGrants)
    const approvals = createApprovalsStore()
    const floor = await startAccessFloor(stack)
    try {
      const payload = JSON.stringify(body)
      const target = (arm: Arm, seconds: number): LoadOptions => ({
        url: arm === 'gatehouse' ? `${stack.baseUrl}/v1/spaces/${space}/approvals` : floor.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(arm === 'gatehouse' ? { authorization: `Bearer ${portalToken}` } : {}) },
        body: payload,
        connections: sizes.accessConnections,
        seconds,
      })
      const runs: Record<Arm, LoadResult[]> = { gatehouse: [], baseline: [] }
      // CPU time of this whole process (both servers, the load generator's thread) per arm: the load
      // generator costs the same per request in both, so the difference is the server's extra work.
      // On PostgreSQL the backends' CPU is counted too (from /proc), separately.
      const cpuMicros: Record<Arm, number> = { gatehouse: 0, baseline: 0 }
      // The main thread alone (both servers, PGlite, not the load generator): the servers' own work.
      const mainThreadMicros: Record<Arm, number | null> = { gatehouse: 0, baseline: 0 }
      const backendMicros: Record<Arm, number | null> = { gatehouse: 0, baseline: 0 }
      const measure = async (arm: Arm, seconds: number, keep: boolean) => {
        const backendsBefore = ctx.store === 'postgres' ? await postgresBackendCpu(db) : null
        const mainBefore = await mainThreadCpu()
        const before = process.cpuUsage()
        const result = await (keep ? ctx.profile(`${arm}-${runs[arm].length + 1}`, () => fire(target(arm, seconds))) : fire(target(arm, seconds)))
        const used = process.cpuUsage(before)
        const mainAfter = await mainThreadCpu()
        const backendsAfter = ctx.store === 'postgres' ? await postgresBackendCpu(db) : null
        if (result.failures > 0) throw new Error(`${arm}: ${result.failures} failed requests under load; the run is void`)
        if (keep) {
          runs[arm].push(result)
          cpuMicros[arm] += used.user + used.system
          mainThreadMicros[arm] = mainBefore === null || mainAfter === null || mainThreadMicros[arm] === null ? null : mainThreadMicros[arm]! + (mainAfter - mainBefore)
          const backends = backendsBefore && backendsAfter ? cpuBetween(backendsBefore, backendsAfter) : null
          backendMicros[arm] = backends === null || backendMicros[arm] === null ? null : backendMicros[arm]! + backends
        }
      }
      ctx.log(`load: ${sizes.accessConnections} connections, ${sizes.accessWarmupSeconds} s warm-up + ${sizes.accessSeconds} s per arm`)
      if (sizes.accessWarmupSeconds > 0) {
        await measure('gatehouse', sizes.accessWarmupSeconds, false)
        await measure('baseline', sizes.accessWarmupSeconds, false)
      }
      // ABBA: each arm runs twice, in mirrored order, so drift on a shared machine hits both alike.
      const half = Math.max(0.5, sizes.accessSeconds / 2)
      for (const arm of ['baseline', 'gatehouse', 'gatehouse', 'baseline'] as const) await measure(arm, half, true)

      const after = await client.approvals.request(body)
      if (after.status !== 'granted') throw new Error('the grant stopped answering granted during the run')

      // Where a check's time goes: its statements, counted and timed in the client (a pass of its
      // own after the measured runs, which ran untraced), warm as under load.
      const traced = ctx.quick ? 20 : 100
      const trace = await stack.tracer!.record(traced, async () => {
        const { url, headers } = target('gatehouse', 0)
        for (let i = 0; i < traced; i += 1) {
          const response = await fetch(Array.isArray(url) ? url[0]! : url, { method: 'POST', headers, body: payload })
          if (response.status !== 200) throw new Error(`traced check: ${response.status} ${await response.text()}`)
        }
      })

      // The statements behind one granted approval(): the token lookup, then the grant lookup —
      // captured from the server's own stores and EXPLAINed on the loaded database.
      const pairs = body.petitioners.flatMap((petitioner) => body.resources.map((resource) => ({ userId: null, email: petitioner.email, resource })))
      const statements = await captureSql(async (recorder) => {
        await createAuthStore().findBySecretHash(recorder, sha256Hex(portalToken))
        await approvals.activeGrants(recorder, space, pairs, new Date())
      })
      const [tokenPlan, grantPlan] = await Promise.all(statements.map((statement) => explainAnalyze(db, statement)))
      const executionTime = (plan: string[] | undefined) => plan?.find((line) => line.startsWith('Execution Time'))?.replace('Execution Time: ', '') ?? '?'

      const combine = (results: LoadResult[]) => {
        const requests = results.reduce((sum, run) => sum + run.requests, 0)
        const seconds = results.reduce((sum, run) => sum + run.seconds, 0)
        const mean = (pick: (run: LoadResult) => number) => results.reduce((sum, run) => sum + pick(run), 0) / results.length
        return { requests, seconds, perSecond: requests / seconds, p50: mean((run) => run.p50), p99: mean((run) => run.p99) }
      }
      const cpuPerRequest = (arm: Arm) => round(cpuMicros[arm] / combine(runs[arm]).requests, 1)
      const mainThreadCpuPerRequest = (arm: Arm) => (mainThreadMicros[arm] === null ? null : round(mainThreadMicros[arm]! / combine(runs[arm]).requests, 1))
      const backendCpuPerRequest = (arm: Arm) => (ctx.store === 'postgres' && backendMicros[arm] !== null ? round(backendMicros[arm]! / combine(runs[arm]).requests, 1) : null)
      const backendNote =
        backendCpuPerRequest('gatehouse') !== null ? `; PostgreSQL backends: Gatehouse ${backendCpuPerRequest('gatehouse')} µs, baseline ${backendCpuPerRequest('baseline')} µs` : ''
      const gatehouse = combine(runs.gatehouse)
      const baseline = combine(runs.baseline)
      const ratio = baseline.perSecond / gatehouse.perSecond
      const p99Ratio = gatehouse.p99 / Math.max(baseline.p99, 1)
      const cell = (arm: typeof gatehouse) => `${formatNumber(arm.perSecond)} req/s · p50 ${arm.p50} ms · p99 ${arm.p99} ms`
      const figures = (arm: typeof gatehouse) => ({
        throughput: { value: round(arm.perSecond, 1), unit: 'req/s' },
        p50: { value: arm.p50, unit: 'ms' },
        p99: { value: arm.p99, unit: 'ms' },
        requests: { value: arm.requests, unit: 'requests' },
        seconds: { value: round(arm.seconds, 2), unit: 's' },
      })
      return {
        summary: { gatehouse: cell(gatehouse), baseline: cell(baseline) },
        figures: { gatehouse: figures(gatehouse), baseline: figures(baseline) },
        ratios: [
          { name: 'throughput', value: ratio, formula: 'baseline req/s ÷ Gatehouse req/s' },
          { name: 'p50 latency', value: gatehouse.p50 / Math.max(baseline.p50, 1), formula: 'Gatehouse p50 ÷ baseline p50 (a 0 ms p50 counts as 1 ms)' },
          { name: 'p99 latency', value: p99Ratio, formula: 'Gatehouse p99 ÷ baseline p99 (a 0 ms p99 counts as 1 ms)' },
        ],
        goal: { text: `≤ ${GOAL.throughput}×, p99 ≤ ${GOAL.p99}×`, met: ratio <= GOAL.throughput && p99Ratio <= GOAL.p99 },
        sizes: {
          connections: sizes.accessConnections,
          secondsPerArm: sizes.accessSeconds,
          warmupSecondsPerArm: sizes.accessWarmupSeconds,
          activeGrants: sizes.accessFillerGrants + 1,
          resources: resourceCount,
        },
        notes: [
          'Baseline: a bare Fastify route in the same process calling the store’s activeGrants (the same SQL) on the same Db; no token check, no schema validation.',
          'Load: autocannon in a worker thread, keep-alive connections; latencies are autocannon’s, in whole milliseconds (p50/p99: mean of the two rounds per arm).',
          `On ${ctx.store}, EXPLAIN ANALYZE after the run: token lookup ${executionTime(tokenPlan)}, grant lookup ${executionTime(grantPlan)} (the token lookup runs only when the token cache misses); CPU per request of this process: Gatehouse ${cpuPerRequest('gatehouse')} µs, baseline ${cpuPerRequest('baseline')} µs (its main thread, the servers without the load generator: ${mainThreadCpuPerRequest('gatehouse') ?? '?'} against ${mainThreadCpuPerRequest('baseline') ?? '?'} µs)${backendNote}.`,
          `Per check (${traced} traced after the run), Gatehouse sends ${round(trace.statementsPerUnit, 2)} statements, ${round(trace.dbMsPerUnit, 2)} ms in the database: ${trace.statements.map((cost) => `${cost.statement.split(' ').slice(0, 4).join(' ')}… ×${round(cost.perUnit, 2)}`).join(', ')}; the baseline sends 1.`,
        ],
        evidence: {
          processCpuMicrosPerRequest: { gatehouse: cpuPerRequest('gatehouse'), baseline: cpuPerRequest('baseline') },
          mainThreadCpuMicrosPerRequest: { gatehouse: mainThreadCpuPerRequest('gatehouse'), baseline: mainThreadCpuPerRequest('baseline') },
          postgresBackendCpuMicrosPerRequest: { gatehouse: backendCpuPerRequest('gatehouse'), baseline: backendCpuPerRequest('baseline') },
          checkStatements: trace,
          tokenLookupPlan: tokenPlan,
          grantLookupPlan: grantPlan,
        },
      }
    } finally {
      await floor.close()
    }
  },
}
