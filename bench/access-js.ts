/**
 * `npx tsx bench/access-js.ts [--requests N] [--rounds R]`
 *
 * The JavaScript of one granted approval() against the floor's, without the database or the socket:
 * both arms of scenario 1 run through `app.inject` on a Db that answers each statement it has seen
 * once from memory (the grant lookup returns the rows it returned the first time). What is left is
 * Fastify's routing, the hooks, body parsing and validation, the handler and serialisation — the
 * part of the per-request CPU that Gatehouse's code decides — measured as process CPU time per
 * request, requests one after another (CPU time, unlike wall time, barely moves on a loaded machine).
 */
import { generateKeyPairSync } from 'node:crypto'
import Fastify from 'fastify'
import { Command } from 'commander'
import pino from 'pino'
import { createLogger } from '../packages/server/src/logger.js'
import { buildApp } from '../packages/server/src/app.js'
import type { Db } from '../packages/server/src/db/db.js'
import { migrate } from '../packages/server/src/db/migrate.js'
import { createApprovalsStore } from '../packages/server/src/modules/approvals/approvals-store.js'
import { createCheckpointSigner } from '../packages/server/src/modules/audit/audit-signer.js'
import { withCpuProfile } from './lib/cpu-profile.js'
import { round } from './lib/data.js'
import { openFreshStore, storeKms } from './lib/stores.js'
import type { CheckBody } from './lib/access-fixture.js'
import { customerId, customers } from './lib/data.js'

const program = new Command().option('--requests <n>', 'requests per measured run', Number, 20_000).option('--rounds <n>', 'ABBA rounds', Number, 3).option('--cpu-prof', 'also a CPU profile of each arm (bench/results/prof/)', false)
  .option('--log-level <level>', "Gatehouse's logger as main.ts makes it (LOG_LEVEL), writing to /dev/null; default none, as the bench's servers")
  .parse()
const flags = program.opts<{ requests: number; rounds: number; cpuProf: boolean; logLevel?: string }>()

/** Replays the last answer to a statement it has seen (same text, same parameters but instants) while `replaying`. */
function replayingDb(inner: Db): { db: Db; replay(on: boolean): void } {
  let replaying = false
  const seen = new Map<string, unknown>()
  const db: Db = {
    ...inner,
    kind: inner.kind,
    query: async (sql, params) => {
      // An instant (the request's clock) does not make a statement new: the rows answered stay valid for the run.
      const key = `${sql}\u0000${JSON.stringify((params ?? []).map((param) => (param instanceof Date ? 'an instant' : param)))}`
      if (replaying && seen.has(key)) return seen.get(key) as never
      const result = await inner.query(sql, params)
      seen.set(key, result)
      return result as never
    },
    transaction: (work) => inner.transaction(work),
    withAdvisoryLock: (key, work) => inner.withAdvisoryLock(key, work),
    listen: (channel, onNotify, onReconnect) => inner.listen(channel, onNotify, onReconnect),
    close: () => inner.close(),
  }
  return { db, replay: (on) => (replaying = on) }
}

const store = await openFreshStore('pglite', { adminUrl: null })
const replaying = replayingDb(store.db)
const built = await buildApp({
  db: replaying.db,
  signer: createCheckpointSigner(generateKeyPairSync('ed25519').privateKey),
  kms: storeKms(store.location),
  signInRateLimit: { max: 1000, timeWindowMs: 60_000 },
  ...(flags.logLevel ? { logger: createLogger(flags.logLevel, pino.destination({ dest: '/dev/null', sync: true })) } : {}),
})
const { result } = await migrate(store.db, (conn) => built.services.spaces.bootstrapIfEmpty(conn))
if (!result) throw new Error('no bootstrap')
await built.changes.start()
const app = built.app
const admin = result.adminToken.token
const api = async (method: 'POST', url: string, body: unknown, token = admin) => {
  const response = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, payload: body as object })
  if (response.statusCode >= 300) throw new Error(`${url}: ${response.statusCode} ${response.body}`)
  return response.json()
}
const account = await api('POST', '/v1/spaces/default/service-accounts', { name: 'bench-portal', role: 'admin' })
const { token } = await api('POST', `/v1/spaces/default/service-accounts/${account.id}/tokens`, { name: 'portal', scopes: ['access:request', 'resources:write'] })
await api('POST', '/v1/spaces/default/resources:bulkUpdate', { resources: customers(10) }, token)
await api('POST', '/v1/spaces/default/policies', { name: 'auto', priority: 10, match: { resourceKinds: ['customer'] }, decision: { type: 'auto_approve', durationSeconds: 86_400 } })
const body: CheckBody = { petitioners: [{ kind: 'user', id: 'usr_bench_agent', email: 'agent@example.com' }], resources: [{ kind: 'customer', id: customerId(1) }] }
const payload = JSON.stringify(body)
await api('POST', '/v1/spaces/default/approvals', body, token)

// The floor, as scenario 1's.
const approvals = createApprovalsStore()
const floor = Fastify({ logger: false })
floor.post('/approvals', async (request) => {
  const input = request.body as CheckBody
  const pairs = input.petitioners.flatMap((petitioner) => input.resources.map((resource) => ({ userId: null, email: petitioner.email.toLowerCase(), resource })))
  const grants = await approvals.activeGrants(replaying.db, 'default', pairs, new Date())
  return { status: grants.length >= pairs.length ? 'granted' : 'waiting', grants }
})
await floor.ready()

type Arm = 'gatehouse' | 'floor'
const send = {
  gatehouse: () => app.inject({ method: 'POST', url: '/v1/spaces/default/approvals', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, payload }),
  floor: () => floor.inject({ method: 'POST', url: '/approvals', headers: { 'content-type': 'application/json' }, payload }),
}
const expected = { gatehouse: (await send.gatehouse()).body, floor: (await send.floor()).body }
replaying.replay(true)
const totals: Record<Arm, { micros: number; requests: number }> = { gatehouse: { micros: 0, requests: 0 }, floor: { micros: 0, requests: 0 } }
const run = async (arm: Arm, requests: number, keep: boolean) => {
  const before = process.cpuUsage()
  for (let i = 0; i < requests; i += 1) {
    const response = await send[arm]()
    // The gatehouse answer holds no time of its own; the grant rows are replayed: every answer must be the first.
    if (response.statusCode !== 200 || (arm === 'floor' && response.body !== expected.floor)) throw new Error(`${arm}: ${response.statusCode} ${response.body}`)
  }
  const used = process.cpuUsage(before)
  if (keep) {
    totals[arm].micros += used.user + used.system
    totals[arm].requests += requests
  }
  return (used.user + used.system) / requests
}
await run('gatehouse', flags.requests / 4, false)
await run('floor', flags.requests / 4, false)
for (let i = 0; i < flags.rounds; i += 1) {
  for (const arm of ['floor', 'gatehouse', 'gatehouse', 'floor'] as const) process.stderr.write(`  ${arm}: ${round(await run(arm, flags.requests, true), 1)} µs/request\n`)
}
if (flags.cpuProf) {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  for (const arm of ['gatehouse', 'floor'] as const) await withCpuProfile('bench/results/prof', `inject-${arm}-${stamp}`, () => run(arm, flags.requests, false), 50)
}
const per = (arm: Arm) => round(totals[arm].micros / totals[arm].requests, 1)
process.stdout.write(`inject, database replayed: Gatehouse ${per('gatehouse')} µs/request, floor ${per('floor')} µs/request (+${round(per('gatehouse') - per('floor'), 1)} µs)\n`)
await app.close()
await floor.close()
await store.drop()
process.exit(0)
