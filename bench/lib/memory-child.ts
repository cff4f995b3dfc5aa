/**
 * The server process of scenario 5, started by memory-arm.ts with `node --import tsx --expose-gc`.
 * It opens the store the parent filled, serves (Gatehouse's real app, or the hand-written export and
 * find routes) on 127.0.0.1:0, and samples its own RSS every `sampleMs`.
 *
 * A child of its own because the bench process is no clean place to measure a server's memory: it
 * carries the earlier scenarios' heap, the load generator, the parent's PGlite (whose WebAssembly
 * memory never shrinks) and the client consuming the export.
 */
import { once } from 'node:events'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { Worker } from 'node:worker_threads'
import Fastify, { type FastifyInstance } from 'fastify'
import { buildApp } from '../../packages/server/src/app.js'
import type { Db } from '../../packages/server/src/db/db.js'
import { migrate } from '../../packages/server/src/db/migrate.js'
import { createCheckpointSigner } from '../../packages/server/src/modules/audit/audit-signer.js'
import { createLocalKms } from '../../packages/server/src/modules/keys/index.js'
import type { EventRow } from '../../packages/server/src/modules/audit/audit-store.js'
import type { AuditEvent } from '../../packages/server/src/modules/audit/audit-types.js'
import { openStoreAt, type StoreLocation } from './stores.js'
import { READABLE } from './vault-fixture.js'

export type MemoryArm = 'gatehouse' | 'baseline'

export interface MemoryChildConfig {
  arm: MemoryArm
  location: StoreLocation
  space: string
  /** The vault table the floor's find route pages (vault.<tableName>), when the find is measured. */
  findTable?: string
  sampleMs: number
  /** The child exits by itself after this long, whatever happens to the parent. */
  maxSeconds: number
}

export type ParentMessage = { type: 'settle' } | { type: 'report' } | { type: 'exit' }

export type ChildMessage =
  | { type: 'listening'; port: number; /** RSS before and after opening the store. */ storeOpen: { before: number; after: number } }
  | { type: 'idle'; rss: number }
  | { type: 'report'; idle: number; peak: number; samples: number; /** RSS in bytes through the export, at most 60 points. */ curve: number[] }
  | { type: 'failed'; message: string }

/** Same page size as the audit service's export, so both arms make the same queries. */
const PAGE = 1000

/** The floor's find: one page of the tickets model and the total, as the vault's find answers it. */
function floorFindRoute(app: FastifyInstance, db: Db, tableName: string): void {
  if (!/^[a-z][a-z0-9_]*$/.test(tableName)) throw new Error(`unexpected table name ${tableName}`)
  app.post('/find', async (request) => {
    const { filter, options } = request.body as { filter?: { ticket_id?: string }; options?: { limit?: number; offset?: number } }
    const limit = options?.limit ?? 100
    const offset = options?.offset ?? 0
    // The warm-up asks for one ticket by id; the measured pages ask for everything, in key order.
    const [where, params] = filter?.ticket_id ? ['WHERE ticket_id = $3', [limit, offset, filter.ticket_id]] : ['', [limit, offset]]
    const { rows } = await db.query<Record<string, unknown> & { total: number }>(
      `SELECT ${[...READABLE, 'created_at', 'updated_at'].join(', ')}, (SELECT count(*)::int FROM vault."${tableName}" ${where}) AS total
       FROM vault."${tableName}" ${where} ORDER BY ticket_id LIMIT $1 OFFSET $2`,
      params,
    )
    const data = rows.map(({ total: _total, ...row }) => row)
    return { data, meta: { total: rows[0]?.total ?? 0, count: data.length, limit, offset } }
  })
}

/** The floor: keyset pages, each event written straight to the socket, waiting for 'drain' when it is full. */
async function baselineServer(db: Db, space: string, findTable: string | undefined): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  app.get('/healthz', async () => ({ ok: true }))
  if (findTable) floorFindRoute(app, db, findTable)
  app.get('/export', (request, reply) => {
    // ?first=N exports only the first N events (at most a page): the warm-up before idle is taken.
    const first = Number((request.query as { first?: string }).first ?? 0)
    const pageSize = first > 0 ? Math.min(first, PAGE) : PAGE
    reply.hijack()
    const out = reply.raw
    out.writeHead(200, { 'content-type': 'application/x-ndjson' })
    void (async () => {
      let after = 0
      for (;;) {
        const { rows } = await db.query<EventRow>(
          `SELECT space_id, seq, id, time, actor, event, resources, meta, prev_hash, hash, leaf_hash FROM audit_events
           WHERE space_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3`,
          [space, after, pageSize],
        )
        for (const row of rows) {
          // Same fields in the same order as the API's events: both arms send the same bytes.
          const event: AuditEvent = {
            id: row.id,
            space: row.space_id,
            seq: row.seq,
            time: row.time.toISOString(),
            actor: row.actor,
            event: row.event,
            resources: row.resources,
            meta: row.meta,
            ...(row.leaf_hash !== null ? { leafHash: row.leaf_hash } : {}),
            ...(row.hash !== null && row.prev_hash !== null ? { prevHash: row.prev_hash, hash: row.hash } : {}),
          }
          // One line per write, as the API streams: no page-sized string to collect.
          if (!out.write(`${JSON.stringify(event)}\n`)) await once(out, 'drain')
        }
        if (rows.length < pageSize || first > 0) break
        after = rows[rows.length - 1]!.seq
      }
      out.end()
    })().catch((error: unknown) => out.destroy(error as Error))
  })
  return app
}

async function gatehouseServer(db: Db): Promise<FastifyInstance> {
  const built = await buildApp({ db, signer: createCheckpointSigner(generateKeyPairSync('ed25519').privateKey), kms: createLocalKms(randomBytes(32)) })
  // As main.ts starts: migrations are already applied and the store is bootstrapped, so this only checks.
  await migrate(db, (conn) => built.services.spaces.bootstrapIfEmpty(conn))
  return built.app
}

/** Samples kept for the RSS curve: 20 minutes at 50 ms, far beyond any export the bench runs. */
const SERIES_CAPACITY = 24_000

/**
 * Samples the process's RSS every `intervalMs` from a worker thread. On the main thread the samples
 * would stop exactly when memory matters: PGlite runs its queries synchronously there, so a page of
 * the export holds the event loop and a timer there would skip it. RSS is per process, so the
 * worker sees the whole server. The peak, the count and the curve live in shared memory.
 */
function startRssSampler(intervalMs: number) {
  const counters = new BigInt64Array(new SharedArrayBuffer(16)) // [peak bytes, samples]
  const series = new Float64Array(new SharedArrayBuffer(SERIES_CAPACITY * 8))
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads')
     const [counters, series, intervalMs] = workerData
     setInterval(() => {
       const bytes = process.memoryUsage.rss()
       const rss = BigInt(bytes)
       for (let seen = Atomics.load(counters, 0); rss > seen; seen = Atomics.load(counters, 0)) {
         if (Atomics.compareExchange(counters, 0, seen, rss) === seen) break
       }
       const index = Number(Atomics.add(counters, 1, 1n))
       if (index < series.length) series[index] = bytes
     }, intervalMs)`,
    { eval: true, workerData: [counters, series, intervalMs] },
  )
  worker.unref()
  return {
    /** From now on the peak counts up from `rss`, and the curve starts again. */
    reset(rss: number) {
      Atomics.store(counters, 0, BigInt(rss))
      Atomics.store(counters, 1, 0n)
    },
    read() {
      const samples = Number(Atomics.load(counters, 1))
      return { peak: Number(Atomics.load(counters, 0)), samples, series: Array.from(series.subarray(0, Math.min(samples, SERIES_CAPACITY))) }
    },
    stop: () => worker.terminate(),
  }
}

/** At most `points` values, each the largest of its stretch, so no peak is lost. */
function downsample(values: number[], points: number): number[] {
  if (values.length <= points) return values
  const size = values.length / points
  return Array.from({ length: points }, (_, index) => Math.max(...values.slice(Math.floor(index * size), Math.floor((index + 1) * size))))
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as MemoryChildConfig
  const send = (message: ChildMessage) => process.send?.(message)
  setTimeout(() => process.exit(3), config.maxSeconds * 1000).unref()
  process.on('disconnect', () => process.exit(0))

  const beforeOpen = process.memoryUsage.rss()
  const db = await openStoreAt(config.location)
  const storeOpen = { before: beforeOpen, after: process.memoryUsage.rss() }
  const app = config.arm === 'gatehouse' ? await gatehouseServer(db) : await baselineServer(db, config.space, config.findTable)
  await app.listen({ host: '127.0.0.1', port: 0 })

  const sampler = startRssSampler(config.sampleMs)
  let idle = 0
  const gc = (globalThis as { gc?: () => void }).gc
  process.on('message', (message: ParentMessage) => {
    void (async () => {
      if (message.type === 'settle') {
        // Idle is the server up and warmed by one request, after full collections, once its RSS
        // stops moving: V8 hands freed pages back to the system a little after a collection, so a
        // reading taken at once would count startup garbage as idle. Bounded: at most 5 s.
        let previous = Number.POSITIVE_INFINITY
        for (let round = 0; round < 10; round += 1) {
          gc?.()
          await new Promise((resolve) => setTimeout(resolve, 500))
          const rss = process.memoryUsage.rss()
          const settled = round >= 1 && Math.abs(previous - rss) < 1024 * 1024
          previous = rss
          if (settled) break
        }
        idle = previous
        sampler.reset(idle)
        send({ type: 'idle', rss: idle })
      } else if (message.type === 'report') {
        const { peak, samples, series } = sampler.read()
        send({ type: 'report', idle, peak: Math.max(peak, process.memoryUsage.rss()), samples, curve: downsample(series, 60) })
      } else {
        await sampler.stop()
        await app.close()
        await db.close()
        process.exit(0)
      }
    })().catch((error: unknown) => {
      send({ type: 'failed', message: (error as Error).message })
      process.exit(1)
    })
  })
  send({ type: 'listening', port: (app.server.address() as AddressInfo).port, storeOpen })
}

main().catch((error: unknown) => {
  process.send?.({ type: 'failed', message: (error as Error).stack ?? String(error) } satisfies ChildMessage)
  process.exit(1)
})
