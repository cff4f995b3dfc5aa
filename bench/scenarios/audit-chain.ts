import { performance } from 'node:perf_hooks'
import { checkInclusion, frontierNodes, foldRange, type Checkpoint } from '@gatehouse/sdk'
import { newId } from '../../packages/server/src/lib/ids.js'
import type { AuditEventInput } from '../../packages/server/src/modules/audit/audit-types.js'
import { formatNumber, round, runConcurrently } from '../lib/data.js'
import { startWaitSampler, topWaits, type WaitProfile } from '../lib/evidence.js'
import { POOL_MAX } from '../lib/stores.js'
import type { Progress, Scenario, ScenarioContext } from '../lib/types.js'
import type { Stack } from '../lib/stack.js'

const eventInput = (index: number): AuditEventInput => ({
  event: 'bench/append',
  actor: { kind: 'service_account', id: 'sa_bench', display: 'bench', tokenId: 'tok_bench' },
  resources: [{ kind: 'customer', id: `c_${index % 1000}` }],
  meta: { index },
})

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.99))] ?? 0

/**
 * A synthetic tree of `leaves` leaves in a space of its own, built set-based in SQL with real
 * SHA-256 hashes (PostgreSQL's sha256()): the leaf rows and every stored subtree, level by level,
 * and a head with its right edge — what the sequencer would have left after `leaves` events.
 */
async function syntheticTree(ctx: ScenarioContext, stack: Stack, space: string, leaves: number): Promise<void> {
  const { db } = stack
  await db.query(`INSERT INTO spaces (id, display_name) VALUES ($1, 'bench proofs')`, [space])
  await db.query(`INSERT INTO audit_heads (space_id, seq, hash) VALUES ($1, 0, $2)`, [space, '0'.repeat(64)])
  const bar = ctx.progress('synthetic tree (leaves, then levels)', leaves * 2)
  try {
    const chunk = 100_000
    for (let from = 1; from <= leaves; from += chunk) {
      const to = Math.min(leaves, from + chunk - 1)
      await db.query(
        `INSERT INTO audit_events (space_id, seq, id, time, actor, event, resources, meta, leaf_hash)
         SELECT $1, g, 'evt_p' || g, now(), '{"kind":"system","id":"bench"}', 'bench/proof', '[]', '{}',
                encode(sha256('\\x00'::bytea || convert_to(g::text, 'UTF8')), 'hex')
         FROM generate_series($2::bigint, $3::bigint) AS g`,
        [space, from, to],
      )
      bar.tick(to - from + 1)
    }
    for (let level = 1; 2 ** level <= leaves; level++) {
      const below =
        level === 1
          ? `SELECT seq - 1 AS idx, leaf_hash AS hash FROM audit_events WHERE space_id = $1`
          : `SELECT idx, hash FROM audit_tree WHERE space_id = $1 AND level = ${level - 1}`
      // Pairs by grouping (linear), not by a self-join a planner without statistics may nest.
      const { rowCount } = await db.query(
        `INSERT INTO audit_tree (space_id, level, idx, hash)
         SELECT $1, $2, b.idx / 2, encode(sha256('\\x01'::bytea || decode(string_agg(b.hash, '' ORDER BY b.idx), 'hex')), 'hex')
         FROM (${below}) AS b GROUP BY b.idx / 2 HAVING count(*) = 2`,
        [space, level],
      )
      bar.tick(rowCount)
    }
  } finally {
    bar.stop()
  }
  const edge = frontierNodes(leaves)
  const hashes = await stack.db.query<{ level: number; idx: number; hash: string }>(
    `SELECT t.level, t.idx, t.hash FROM json_to_recordset($2::json) AS w(level int, idx bigint)
     JOIN LATERAL (SELECT w.level, w.idx, CASE WHEN w.level = 0 THEN (SELECT leaf_hash FROM audit_events WHERE space_id = $1 AND seq = w.idx + 1)
                   ELSE (SELECT hash FROM audit_tree WHERE space_id = $1 AND level = w.level AND idx = w.idx) END AS hash) t ON true`,
    [space, JSON.stringify(edge.map((node) => ({ level: node.level, idx: node.index })))],
  )
  const byKey = new Map(hashes.rows.map((row) => [`${row.level}:${row.idx}`, row.hash]))
  const frontier = edge.map((node) => byKey.get(`${node.level}:${node.index}`)!).join('')
  await db.query('UPDATE audit_heads SET seq = $2, tree_size = $2, frontier = $3 WHERE space_id = $1', [space, leaves, frontier])
  await db.query('ANALYZE audit_tree')
  await db.query('ANALYZE audit_events')
}

/**
 * 4. The audit log: events appended by 16 concurrent writers through the real audit append (the
 * service's append in a transaction: one INSERT into the queue, no per-space lock) while the
 * background sequencer integrates them, against plain autocommit INSERTs of equivalent rows into a
 * LIKE-copy of audit_events. Then the sequencer's own throughput (events queued, one run
 * integrating them all), and proof generation from a synthetic tree's stored subtrees.
 */
export const auditChain: Scenario = {
  name: 'audit-chain',
  number: 4,
  title: 'Audit log',
  async run(ctx) {
    const { auditAppends: count, auditWriters: writers, auditSequencerEvents, auditProofLeaves } = ctx.sizes
    const stack = await ctx.stack()
    const { db, space } = stack
    const audit = stack.built.services.audit
    const sequencer = stack.built.auditSequencer

    // LIKE copies columns, NOT NULLs, defaults and every index (the GIN one too), but not foreign
    // keys: the one to spaces is added back so both tables check the same things.
    await db.query('CREATE TABLE bench_audit_plain (LIKE audit_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)')
    await db.query('ALTER TABLE bench_audit_plain ADD FOREIGN KEY (space_id) REFERENCES spaces (id)')
    await db.query('CREATE SEQUENCE bench_audit_plain_seq')

    const audited = async (index: number) => {
      await db.transaction((tx) => audit.append(tx, space, eventInput(index)))
    }
    const plain = async (index: number) => {
      const input = eventInput(index)
      await db.query(
        `INSERT INTO bench_audit_plain (space_id, seq, id, time, actor, event, resources, meta, leaf_hash)
         VALUES ($1, nextval('bench_audit_plain_seq'), $2, $3, $4::jsonb, $5, $6::jsonb, $7::jsonb, $8)`,
        [space, newId('evt'), new Date().toISOString(), JSON.stringify(input.actor), input.event, JSON.stringify(input.resources), JSON.stringify(input.meta), '0'.repeat(64)],
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

    // The background sequencer runs through the audited arm (woken after appends and every 250 ms),
    // as on a server: its integration competes with the writers for the same database.
    sequencer.start()
    const warmup = Math.max(20, Math.floor(count / 10))
    await runConcurrently(warmup, writers, audited)
    await runConcurrently(warmup, writers, plain)
    const { seconds: auditSeconds, waits: auditWaits } = await timed(`audited append, ${writers} writers`, audited, warmup)
    const drainStarted = performance.now()
    await audit.integrateNow(space)
    const drainSeconds = (performance.now() - drainStarted) / 1000
    await sequencer.stop()
    const { seconds: plainSeconds, waits: plainWaits } = await timed(`plain INSERT, ${writers} writers`, plain, warmup)

    // Every event integrated once, gapless, the tree whole: a log that lost or doubled events would void the figure.
    const report = await audit.verify(space, [], [])
    if (!report.ok || report.pending !== 0) throw new Error(`audit log not whole after the run: ${JSON.stringify(report.firstBroken)}, ${report.pending} pending`)
    const appended = (await db.query<{ count: number }>(`SELECT count(*)::int AS count FROM audit_events WHERE space_id = $1 AND event = 'bench/append'`, [space])).rows[0]!.count
    if (appended !== count + warmup) throw new Error(`audited appends: ${appended} of ${count + warmup} in the log`)
    const { rows } = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM bench_audit_plain')
    if (rows[0]?.count !== count + warmup) throw new Error('plain inserts lost rows')

    // The sequencer alone: events queued with it stopped, then one run integrating them all.
    await runConcurrently(auditSequencerEvents, writers, audited)
    const sequencedFrom = (await audit.verify(space, [], [])).checkedEvents
    const sequencerStarted = performance.now()
    const sequencedTo = await audit.integrateNow(space)
    const sequencerSeconds = (performance.now() - sequencerStarted) / 1000
    if (sequencedTo - sequencedFrom !== auditSequencerEvents) throw new Error(`the sequencer integrated ${sequencedTo - sequencedFrom} of ${auditSequencerEvents}`)
    const sequencerRate = auditSequencerEvents / sequencerSeconds

    // Proofs from the stored subtrees of a synthetic tree, checked with the SDK against its root.
    const proofSpace = 'bench-proofs'
    await syntheticTree(ctx, stack, proofSpace, auditProofLeaves)
    const head = (await db.query<{ frontier: string }>('SELECT frontier FROM audit_heads WHERE space_id = $1', [proofSpace])).rows[0]!
    const root = foldRange(head.frontier.match(/.{64}/g)!.map((hex) => new Uint8Array(Buffer.from(hex, 'hex'))))
    const checkpoint: Checkpoint = { origin: 'bench', treeSize: auditProofLeaves, rootHash: root, extensions: [] }
    const rounds = 200
    const inclusionMs: number[] = []
    const consistencyMs: number[] = []
    for (let i = 0; i < rounds; i++) {
      const seq = 1 + Math.floor(Math.random() * auditProofLeaves)
      let started = performance.now()
      const inclusion = await audit.inclusionProof(proofSpace, seq, auditProofLeaves)
      inclusionMs.push(performance.now() - started)
      const leaf = new Uint8Array(Buffer.from((await db.query<{ leaf_hash: string }>('SELECT leaf_hash FROM audit_events WHERE space_id = $1 AND seq = $2', [proofSpace, seq])).rows[0]!.leaf_hash, 'hex'))
      const ok = checkInclusion(checkpoint, leaf, seq - 1, inclusion.hashes.map((hash) => new Uint8Array(Buffer.from(hash, 'base64'))))
      if (!ok.ok) throw new Error(`inclusion proof of ${seq} does not verify: ${ok.reason}`)
      const from = 1 + Math.floor(Math.random() * (auditProofLeaves - 1))
      started = performance.now()
      const consistency = await audit.consistencyProof(proofSpace, from, auditProofLeaves)
      consistencyMs.push(performance.now() - started)
      if (consistency.hashes.length === 0) throw new Error('empty consistency proof')
    }

    const auditRate = count / auditSeconds
    const plainRate = count / plainSeconds
    const waitNote = (arm: string, waits: WaitProfile | undefined) =>
      waits ? [`${arm} on PostgreSQL, sampled connection states: ${topWaits(waits)}; WAL syncs per event ${(waits.walSyncs / count).toFixed(2)} (pg_stat_wal, cluster-wide).`] : []
    return {
      summary: { gatehouse: `${formatNumber(auditRate)} events/s`, baseline: `${formatNumber(plainRate)} events/s` },
      figures: {
        gatehouse: {
          throughput: { value: round(auditRate), unit: 'events/s' },
          seconds: { value: round(auditSeconds, 3), unit: 's' },
          drainAfterArm: { value: round(drainSeconds, 3), unit: 's' },
          sequencer: { value: round(sequencerRate), unit: 'events/s' },
          inclusionProofMedian: { value: round(median(inclusionMs), 3), unit: 'ms' },
          inclusionProofP99: { value: round(p99(inclusionMs), 3), unit: 'ms' },
          consistencyProofMedian: { value: round(median(consistencyMs), 3), unit: 'ms' },
          consistencyProofP99: { value: round(p99(consistencyMs), 3), unit: 'ms' },
        },
        baseline: { throughput: { value: round(plainRate), unit: 'events/s' }, seconds: { value: round(plainSeconds, 3), unit: 's' } },
      },
      ratios: [{ name: 'throughput', value: plainRate / auditRate, formula: 'plain INSERT events/s ÷ audited events/s' }],
      goal: { text: 'audited ≥ 0.6× plain inserts (ratio ≤ 1.67)', met: auditRate / plainRate >= 0.6 },
      sizes: { events: count, writers, warmupEvents: warmup, poolConnections: ctx.store === 'postgres' ? POOL_MAX : 1, sequencerEvents: auditSequencerEvents, proofLeaves: auditProofLeaves },
      notes: [
        `Both arms: ${writers} concurrent writers sharing the server's Db (PostgreSQL: its default pool of ${POOL_MAX} connections; PGlite: its one connection).`,
        'Audited: audit.append inside db.transaction (BEGIN, one INSERT into audit_pending with the leaf hash computed on the writer, COMMIT), the background sequencer integrating meanwhile; afterwards every event is in the log once, gapless, and the tree verifies.',
        'Plain: one autocommit INSERT per event into a LIKE-copy of audit_events (same indexes, foreign key to spaces), seq from a sequence, a placeholder leaf hash.',
        `Audited is ${round(auditRate / plainRate, 2)}× plain; what was still queued when the writers stopped took ${round(drainSeconds * 1000)} ms to integrate.`,
        `Sequencer alone on ${ctx.store}: ${formatNumber(auditSequencerEvents)} queued events integrated in ${round(sequencerSeconds, 2)} s = ${formatNumber(sequencerRate)} events/s (batches of up to 5,000 in one transaction each: move, stored subtrees, head).`,
        `Proofs from a synthetic tree of ${formatNumber(auditProofLeaves)} leaves (real SHA-256, built in SQL), ${rounds} each at random positions, checked with the SDK: inclusion median ${round(median(inclusionMs), 2)} ms (p99 ${round(p99(inclusionMs), 2)}), consistency median ${round(median(consistencyMs), 2)} ms (p99 ${round(p99(consistencyMs), 2)}); service calls, HTTP excluded.`,
        ...waitNote('Audited', auditWaits),
        ...waitNote('Plain', plainWaits),
      ],
      evidence: { ...(auditWaits && plainWaits ? { waitsAudited: auditWaits, waitsPlain: plainWaits } : {}) },
    }
  },
}
