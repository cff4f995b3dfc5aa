import { performance } from 'node:perf_hooks'
import { newId } from '../../packages/server/src/lib/ids.js'
import type { Queryable } from '../../packages/server/src/db/db.js'
import type { AuditEventInput } from '../../packages/server/src/modules/audit/audit-types.js'
import { formatNumber, round, runConcurrently } from '../lib/data.js'
import { startWaitSampler, topWaits, type WaitProfile } from '../lib/evidence.js'
import { POOL_MAX } from '../lib/stores.js'
import type { Progress, Scenario } from '../lib/types.js'

const PLACEHOLDER_HASH = '0'.repeat(64)

const eventInput = (index: number): AuditEventInput => ({
  event: 'bench/append',
  actor: { kind: 'service_account', id: 'sa_bench', display: 'bench', tokenId: 'tok_bench' },
  resources: [{ kind: 'customer', id: `c_${index % 1000}` }],
  meta: { index },
})

/**
 * 4. Events appended by concurrent writers through the real audit append — the service's append in
 * a transaction: lock the chain head, hash, insert, move the head — against plain INSERTs of
 * equivalent rows (same columns, sizes and indexes) into an unchained copy of the table.
 */
export const auditChain: Scenario = {
  name: 'audit-chain',
  number: 4,
  title: 'Audit chain',
  async run(ctx) {
    const { auditAppends: count, auditWriters: writers } = ctx.sizes
    const stack = await ctx.stack()
    const { db, space } = stack
    const audit = stack.built.services.audit

    // LIKE copies columns, NOT NULLs, defaults and every index (the GIN one too), but not foreign
    // keys: the one to spaces is added back so both tables check the same things.
    await db.query('CREATE TABLE bench_audit_plain (LIKE audit_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)')
    await db.query('ALTER TABLE bench_audit_plain ADD FOREIGN KEY (space_id) REFERENCES spaces (id)')
    await db.query('CREATE SEQUENCE bench_audit_plain_seq')

    // How long each append holds the chain head — from its SELECT … FOR UPDATE answering to its
    // transaction having committed — and what the append (the INSERT and the head UPDATE, one
    // statement) takes of that. The head lock serialises appends, so this, not the database's
    // capacity, bounds the chained rate.
    const held = { events: 0, total: 0, insert: 0 }
    const chained = async (index: number) => {
      let lockedAt = 0
      let insert = 0
      await db.transaction((tx) => {
        const timing: Queryable = {
          query: async <Row,>(sql: string, params?: readonly unknown[]) => {
            const started = performance.now()
            const result = await tx.query<Row>(sql, params)
            const ended = performance.now()
            if (sql.includes('FOR UPDATE')) lockedAt = ended
            else if (sql.includes('INSERT INTO audit_events')) insert += ended - started
            return result
          },
        }
        return audit.append(timing, space, eventInput(index))
      })
      held.events += 1
      held.total += performance.now() - lockedAt
      held.insert += insert
    }
    const plain = async (index: number) => {
      const input = eventInput(index)
      await db.query(
        `INSERT INTO bench_audit_plain (space_id, seq, id, time, actor, event, resources, meta, prev_hash, hash)
         VALUES ($1, nextval('bench_audit_plain_seq'), $2, $3, $4::jsonb, $5, $6::jsonb, $7::jsonb, $8, $9)`,
        [space, newId('evt'), new Date().toISOString(), JSON.stringify(input.actor), input.event, JSON.stringify(input.resources), JSON.stringify(input.meta), PLACEHOLDER_HASH, PLACEHOLDER_HASH],
      )
    }
    const location = stack.store.location
    const timed = async (label: string, append: (index: number) => Promise<void>, offset: number) => {
      // On PostgreSQL, what the connections wait on while the arm runs: the evidence for its ratio.
      const sampler = location.kind === 'postgres' ? await startWaitSampler(location.url, 20) : null
      const bar: Progress = ctx.progress(label, count)
      let seconds = 0
      let waits: WaitProfile | undefined
      const started = performance.now()
      try {
        await runConcurrently(count, writers, async (index) => {
          await append(offset + index)
          bar.tick()
        })
        seconds = (performance.now() - started) / 1000
      } finally {
        bar.stop()
        waits = await sampler?.stop()
      }
      return { seconds, waits }
    }

    const warmup = Math.max(20, Math.floor(count / 10))
    await runConcurrently(warmup, writers, chained)
    await runConcurrently(warmup, writers, plain)
    Object.assign(held, { events: 0, total: 0, insert: 0 })
    const { seconds: chainSeconds, waits: chainWaits } = await timed(`chained append, ${writers} writers`, chained, warmup)
    const { seconds: plainSeconds, waits: plainWaits } = await timed(`plain INSERT, ${writers} writers`, plain, warmup)

    // The chain must still be whole: concurrent appends that forked it would void the figure.
    const report = await audit.verify(space, [])
    if (!report.ok) throw new Error(`audit chain broken after the run: ${JSON.stringify(report.firstBroken)}`)
    const { rows } = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM bench_audit_plain')
    if (rows[0]?.count !== count + warmup) throw new Error('plain inserts lost rows')

    const chainRate = count / chainSeconds
    const plainRate = count / plainSeconds
    const lock = {
      heldMsPerEvent: round(held.total / held.events, 3),
      appendMsPerEvent: round(held.insert / held.events, 3),
      /** ≈ 1: the head was held all the time — appends queued on it. */
      heldShareOfWallTime: round(held.total / (chainSeconds * 1000), 3),
    }
    const waitNote = (arm: string, waits: WaitProfile | undefined) =>
      waits ? [`${arm} on PostgreSQL, sampled connection states: ${topWaits(waits)}; WAL syncs per event ${(waits.walSyncs / count).toFixed(2)} (pg_stat_wal, cluster-wide).`] : []
    return {
      summary: { gatehouse: `${formatNumber(chainRate)} events/s`, baseline: `${formatNumber(plainRate)} events/s` },
      figures: {
        gatehouse: { throughput: { value: round(chainRate), unit: 'events/s' }, seconds: { value: round(chainSeconds, 3), unit: 's' } },
        baseline: { throughput: { value: round(plainRate), unit: 'events/s' }, seconds: { value: round(plainSeconds, 3), unit: 's' } },
      },
      ratios: [{ name: 'throughput', value: plainRate / chainRate, formula: 'plain INSERT events/s ÷ chained events/s' }],
      goal: null,
      sizes: { events: count, writers, warmupEvents: warmup, poolConnections: ctx.store === 'postgres' ? POOL_MAX : 1 },
      notes: [
        `Both arms: ${writers} concurrent writers sharing the server's Db (PostgreSQL: its default pool of ${POOL_MAX} connections; PGlite: its one connection).`,
        'Chained: audit.append inside db.transaction (BEGIN, SELECT … FOR UPDATE on the head, INSERT of the event with the head UPDATE in one statement, COMMIT); the chain is verified afterwards.',
        'Plain: one autocommit INSERT per event into a LIKE-copy of audit_events (same indexes, foreign key to spaces), seq from a sequence, placeholder hashes.',
        `Chained on ${ctx.store}: the chain head was held ${lock.heldMsPerEvent} ms per event (the INSERT with its head UPDATE, one statement, ${lock.appendMsPerEvent} ms; the rest COMMIT and the client between statements), ${Math.round(lock.heldShareOfWallTime * 100)}% of the wall time.`,
        ...waitNote('Chained', chainWaits),
        ...waitNote('Plain', plainWaits),
      ],
      evidence: { chainHead: lock, ...(chainWaits && plainWaits ? { waitsChained: chainWaits, waitsPlain: plainWaits } : {}) },
    }
  },
}
