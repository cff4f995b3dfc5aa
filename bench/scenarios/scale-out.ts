import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { formatNumber, round } from '../lib/data.js'
import { expectedBodies, prepareHotPaths, send, vaultToken, type HotPaths } from '../lib/hot-paths.js'
import { fire, type LoadResult } from '../lib/load.js'
import { startNodes, type NodeProcess } from '../lib/nodes.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/types.js'

/** The issue's bound on an invalidation reaching another node (PostgreSQL). */
export const INVALIDATION_BOUND_MS = 100
const NODE_COUNTS = [1, 2, 3] as const

export interface Spread {
  samples: number
  p50: number
  p99: number
  max: number
}

/** p50, p99 and max of `values` (ms), rounded to 0.1 ms. */
export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return { samples: sorted.length, p50: round(at(0.5), 1), p99: round(at(0.99), 1), max: round(sorted[sorted.length - 1] ?? 0, 1) }
}

const spreadText = (s: Spread) => `p50 ${s.p50} ms · p99 ${s.p99} ms · max ${s.max} ms (${s.samples})`

/**
 * Revoke a token on node A, then ask node B with it until B refuses, from the revoke's answer (its
 * commit done). B used the token just before, so whatever B keeps about it is warm. Two figures per
 * sample: when the first refused request was sent (B refuses whatever is sent from then on: the
 * invalidation's latency, judged against the bound) and when its refusal arrived (that plus one
 * request's round trip on a loaded machine). A and B rotate over the nodes.
 */
async function invalidationLatencies(nodes: NodeProcess[], paths: HotPaths, accountId: string, samples: number): Promise<{ sent: number[]; arrived: number[]; unrefused: number }> {
  const sent: number[] = []
  const arrived: number[] = []
  let unrefused = 0
  for (let i = 0; i < samples; i += 1) {
    const a = nodes[i % nodes.length]!
    const b = nodes[(i + 1) % nodes.length]!
    const issued = await send(`${a.url}/v1/spaces/${paths.space}/service-accounts/${accountId}/tokens`, { token: paths.adminToken, body: JSON.stringify({ name: `revoke-${i}`, scopes: ['access:request'] }) })
    if (issued.status !== 201) throw new Error(`issue token: ${issued.status} ${issued.text}`)
    const { id, token } = JSON.parse(issued.text) as { id: string; token: string }
    const warm = await send(`${b.url}${paths.access.path}`, { token, body: paths.access.body })
    if (warm.status !== 200) throw new Error(`the fresh token was refused on node B before its revocation: ${warm.status} ${warm.text}`)
    const revoked = await send(`${a.url}/v1/spaces/${paths.space}/tokens/${id}:revoke`, { token: paths.adminToken })
    if (revoked.status !== 200) throw new Error(`revoke: ${revoked.status} ${revoked.text}`)
    const committed = performance.now()
    let refused = false
    while (!refused && performance.now() - committed < 5000) {
      const probeSent = performance.now()
      const probe = await send(`${b.url}${paths.access.path}`, { token, body: paths.access.body })
      if (probe.status === 401) {
        refused = true
        sent.push(probeSent - committed)
        arrived.push(performance.now() - committed)
      } else if (probe.status !== 200) throw new Error(`probe on node B: ${probe.status} ${probe.text}`)
    }
    if (!refused) unrefused += 1
  }
  return { sent, arrived, unrefused }
}

/**
 * A long-polling approval({ wait }) on node B, its petition approved by a person on node A: from
 * sending the review to A (so the review's own work is included) to B's answer. B's own re-read runs
 * every second; only the change feed's hint makes it sooner.
 */
async function wakeUpLatencies(ctx: ScenarioContext, nodes: NodeProcess[], paths: HotPaths, samples: number): Promise<number[]> {
  const space = paths.space
  const admin = (path: string, body: unknown) => send(`${nodes[0]!.url}/v1/spaces/${space}${path}`, { token: paths.adminToken, body: JSON.stringify(body) })
  const resources = Array.from({ length: samples }, (_, i) => ({ kind: 'document', id: `d_${i}`, displayName: `Document ${i}`, labels: {} }))
  const made = await admin('/resources:bulkUpdate', { resources })
  if (made.status !== 200) throw new Error(`documents: ${made.status} ${made.text}`)
  const policy = await admin('/policies', { name: 'bench review', priority: 5, match: { resourceKinds: ['document'] }, decision: { type: 'review' } })
  if (policy.status !== 201) throw new Error(`review policy: ${policy.status} ${policy.text}`)
  const user = await admin('/users', { email: 'bench-reviewer@example.com', name: 'Bench Reviewer', role: 'reviewer' })
  if (user.status !== 201) throw new Error(`reviewer: ${user.status} ${user.text}`)
  const issued = await admin(`/users/${JSON.parse(user.text).id}/tokens`, {})
  const reviewerToken = (JSON.parse(issued.text) as { token: string }).token

  const latencies: number[] = []
  for (let i = 0; i < samples; i += 1) {
    const a = nodes[i % nodes.length]!
    const b = nodes[(i + 1) % nodes.length]!
    const ask = { petitioners: [{ kind: 'user', id: `usr_wake_${i}`, email: `wake-${i}@example.com` }], resources: [{ kind: 'document', id: `d_${i}` }] }
    const opened = await send(`${a.url}${paths.access.path}`, { token: paths.portalToken, body: JSON.stringify(ask) })
    const petition = JSON.parse(opened.text) as { status: string; petition: { id: string } }
    if (petition.status !== 'waiting') throw new Error(`expected a waiting petition: ${opened.text}`)
    const waiting = send(`${b.url}${paths.access.path}`, { token: paths.portalToken, body: JSON.stringify({ ...ask, waitMs: 20_000 }) }).then((answer) => ({ answer, at: performance.now() }))
    // B is inside its wait well before this (three short reads).
    await new Promise((resolve) => setTimeout(resolve, 150))
    const decided = performance.now()
    const reviewed = await send(`${a.url}/v1/spaces/${space}/petitions/${petition.petition.id}:review`, { token: reviewerToken, body: JSON.stringify({ decision: 'approve' }) })
    if (reviewed.status !== 200) throw new Error(`review: ${reviewed.status} ${reviewed.text}`)
    const { answer, at } = await waiting
    if (JSON.parse(answer.text).status !== 'granted') throw new Error(`the long-poll on node B answered ${answer.text.slice(0, 200)}`)
    latencies.push(at - decided)
  }
  ctx.log(`wake-ups: ${samples} approvals on node A answered on node B`)
  return latencies
}

const notApplicable = (): ScenarioResult => ({
  summary: { gatehouse: 'PostgreSQL only: PGlite belongs to one process', baseline: '—' },
  figures: { gatehouse: {}, baseline: {} },
  ratios: [{ name: 'not applicable', value: 1, formula: 'PGlite serves one process: there are no other nodes' }],
  goal: { text: '3 nodes lose nothing; revocation reaches them within the bound', met: null },
  sizes: {},
  notes: ['Scale-out runs on PostgreSQL only: a PGlite data directory belongs to one process.'],
})

/**
 * 6. The access check and the selective vault find against 1, 2 and 3 Gatehouse processes on one
 * PostgreSQL database (autocannon spreads its connections over the nodes in turn), every answer
 * checked byte for byte; then how long a revocation on one node takes to be refused on another,
 * and how long a decision on one node takes to wake a long-poll on another.
 */
export const scaleOut: Scenario = {
  name: 'scale-out',
  number: 6,
  title: 'Scale-out',
  async run(ctx) {
    if (ctx.store !== 'postgres') return notApplicable()
    const { sizes } = ctx
    const stack = await ctx.stack()
    const paths = await prepareHotPaths(stack, { fillerGrants: sizes.accessFillerGrants, rows: sizes.findRows, bar: ctx.progress('tickets (fill)', sizes.findRows) })
    const account = await stack.api<{ id: string }>('POST', `/v1/spaces/${stack.space}/service-accounts`, { body: { name: 'bench-revoked', role: 'admin' } })
    const seconds = sizes.accessSeconds
    const nodes = await startNodes(stack.store.location, 3, { maxSeconds: 1800 })
    try {
      const bearer = `Bearer ${await vaultToken(nodes[0]!.url, paths.find.client)}`
      const expected = await expectedBodies(nodes[0]!.url, paths, bearer.slice(7))
      for (const node of nodes.slice(1)) {
        const other = await expectedBodies(node.url, paths, bearer.slice(7))
        if (other.access !== expected.access || other.find !== expected.find) throw new Error('two nodes answer the same request differently')
      }
      // Connections in a multiple of 6, so 1, 2 and 3 nodes each get the same share.
      const connections = Math.max(6, Math.round(sizes.accessConnections / 6) * 6)
      const load = (path: 'access' | 'find', count: number, secs: number) =>
        fire({
          url: nodes.slice(0, count).map((node) => `${node.url}${paths[path].path}`),
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: path === 'access' ? `Bearer ${paths.portalToken}` : bearer },
          body: paths[path].body,
          connections,
          seconds: secs,
          expectBody: expected[path],
        })
      if (sizes.accessWarmupSeconds > 0) {
        await load('access', 3, sizes.accessWarmupSeconds)
        await load('find', 3, sizes.accessWarmupSeconds)
      }
      const throughput: Record<'access' | 'find', Record<number, LoadResult>> = { access: {}, find: {} }
      for (const count of NODE_COUNTS) {
        for (const path of ['access', 'find'] as const) {
          const result = await load(path, count, seconds)
          if (result.failures > 0) throw new Error(`${path} on ${count} node(s): ${result.failures} of ${result.requests} requests failed or answered otherwise; nodes lose nothing, or the run is void`)
          throughput[path][count] = result
        }
        ctx.log(`${count} node(s): access ${formatNumber(throughput.access[count]!.perSecond)} req/s, find ${formatNumber(throughput.find[count]!.perSecond)} req/s`)
      }

      const invalidation = await invalidationLatencies(nodes, paths, account.id, sizes.scaleOutRevocations)
      const revoke = spread(invalidation.sent)
      const revokeArrived = spread(invalidation.arrived)
      const wake = spread(await wakeUpLatencies(ctx, nodes, paths, sizes.scaleOutWakeUps))
      const within = invalidation.unrefused === 0 && revoke.max <= INVALIDATION_BOUND_MS

      const perNode = (path: 'access' | 'find') => NODE_COUNTS.map((count) => `${count}: ${formatNumber(throughput[path][count]!.perSecond)}`).join(' · ')
      const figures: Record<string, { value: number; unit: string }> = {}
      for (const path of ['access', 'find'] as const) {
        for (const count of NODE_COUNTS) {
          const result = throughput[path][count]!
          figures[`${path}Throughput${count}`] = { value: round(result.perSecond, 1), unit: 'req/s' }
          figures[`${path}P99_${count}`] = { value: result.p99, unit: 'ms' }
        }
      }
      for (const [name, s] of [['revokeToRefusal', revoke], ['revokeToRefusalArrived', revokeArrived], ['wakeUp', wake]] as const) {
        figures[`${name}P50`] = { value: s.p50, unit: 'ms' }
        figures[`${name}P99`] = { value: s.p99, unit: 'ms' }
        figures[`${name}Max`] = { value: s.max, unit: 'ms' }
      }
      const ratio = (path: 'access' | 'find') => throughput[path][1]!.perSecond / throughput[path][3]!.perSecond
      return {
        summary: {
          gatehouse: `req/s by nodes — access ${perNode('access')}; find ${perNode('find')}; revoked token refused on another node for requests sent ${spreadText(revoke)} after the revoke (refusal arrived ${spreadText(revokeArrived)}); wake-up ${spreadText(wake)}`,
          baseline: `1 node: access ${formatNumber(throughput.access[1]!.perSecond)} req/s, find ${formatNumber(throughput.find[1]!.perSecond)} req/s`,
        },
        figures: { gatehouse: figures, baseline: {} },
        ratios: [
          { name: 'access check, 1 node ÷ 3 nodes', value: ratio('access'), formula: '1-node req/s ÷ 3-node req/s (below 1: more nodes answer more)' },
          { name: 'selective find, 1 node ÷ 3 nodes', value: ratio('find'), formula: '1-node req/s ÷ 3-node req/s' },
          { name: 'revoke→refusal p99 ÷ bound', value: Math.max(revoke.p99, 1) / INVALIDATION_BOUND_MS, formula: `p99 ms ÷ ${INVALIDATION_BOUND_MS} ms (a p99 under 1 ms, the probes' granularity, counts as 1 ms)` },
        ],
        goal: { text: `3 nodes lose nothing; revoked token refused on another node within ${INVALIDATION_BOUND_MS} ms (max)`, met: within },
        sizes: { connections, secondsPerLoad: seconds, invalidationSamples: revoke.samples, wakeUpSamples: wake.samples, rows: sizes.findRows, cores: availableParallelism() },
        notes: [
          `Scale-out: ${availableParallelism()} cores shared by the load generator, PostgreSQL and the nodes, so throughput cannot grow with nodes; what is asserted is that every answer under load is byte-identical to the expected one on every node count (none lost) and that a revoked token is refused on another node within ${INVALIDATION_BOUND_MS} ms.`,
          `Revoke→refusal: a fresh token used on node B, revoked on node A; B asked again at once, request after request, until it refused. From the revoke's answer to the sending of the first refused request (judged against the bound), and to its refusal's arrival (plus one round trip) (${revoke.samples} samples${invalidation.unrefused ? `, ${invalidation.unrefused} never refused within 5 s` : ''}). Wake-up: approval({ wait }) on node B, approved by a reviewer on node A, from sending the review to B's answer; B's own re-read would come after up to 1 s.`,
        ],
        evidence: { throughput: Object.fromEntries((['access', 'find'] as const).map((path) => [path, throughput[path]])), revoke, revokeArrived, wake },
      }
    } finally {
      await Promise.allSettled(nodes.map((node) => node.stop()))
    }
  },
}
