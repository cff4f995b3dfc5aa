import { performance } from 'node:perf_hooks'
import { newId } from '../../packages/server/src/lib/ids.js'
import type { AuditEventInput } from '../../packages/server/src/modules/audit/audit-types.js'
import { buildSyntheticTree, measureProofs } from '../lib/audit-proofs.js'
import { formatNumber, round, runConcurrently } from '../lib/data.js'
import { startWaitSampler, topWaits, type WaitProfile } from '../lib/evidence.js'
import { POOL_MAX } from '../lib/stores.js'
import type { Progress, Scenario } from '../lib/types.js'

const eventInput = (index: number): AuditEventInput => ({
  event: 'bench/append',
  actor: { kind: 'service_account', id: 'sa_bench', display: 'bench', tokenId: 'tok_bench' },
  resources: [{ kind: 'customer', id: `c_${index % 1000}` }],
  meta: { index },
})

/** A change an audited call records: a row like a group or a policy (the "change + event" arm writes it). */
const changeRow = (space: string, index: number) => [space, `chg_${index}_${newId('x')}`, `change ${index}`, JSON.stringify({ index, labels: { plan: 'pro' } })]
const CHANGE_INSERT = 'INSERT INTO bench_changes (space_id, id, name, data) VALUES ($1, $2, $3, $4::jsonb)'

/**
 * 4. The audit log, 16 concurrent writers, two pairs of arms (each audited arm with the background
 * sequencer integrating meanwhile, as on a server; each plain arm with it stopped):
 *  - the goal's: a bare audited event — `audit.record`, one autocommit INSERT into the queue —
 *    against a plain autocommit INSERT of an equivalent row into a LIKE-copy of audit_events;
 *  - a change and its event in one transaction (BEGIN, the change's INSERT, the queue INSERT,
 *    COMMIT) against the change alone as one autocommit INSERT: what a state-changing call costs.
 * Then the sequencer's own throughput (events queued, one run integrating them all), and proof
 * generation from a synthetic tree's stored subtrees.
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
    await db.query('CREATE TABLE bench_changes (space_id text NOT NULL REFERENCES spaces (id), id text NOT NULL, name text NOT NULL, data jsonb NOT NULL, PRIMARY KEY (space_id, id))')

    const bare = async (index: number) => {
      await audit.record(space, eventInput(index))
    }
    const plain = async (index: number) => {
      const input = eventInput(index)
      await db.query(
        `INSERT INTO bench_audit_plain (space_id, seq, id, time, actor, event, resources, meta, leaf_hash)
         VALUES ($1, nextval('bench_audit_plain_seq'), $2, $3, $4::jsonb, $5, $6::jsonb, $7::jsonb, $8)`,
        [space, newId('evt'), new Date().toISOString(), JSON.stringify(input.actor), input.event, JSON.stringify(input.resources), JSON.stringify(input.meta), '0'.repeat(64)],
      )
    }
    const changeAudited = async (index: number) => {
      await db.transaction(async (tx) => {
        await tx.query(CHANGE_INSERT, changeRow(space, index))
        await audit.append(tx, space, eventInput(index))
      })
    }
    const changePlain = async (index: number) => {
      await db.query(CHANGE_INSERT, changeRow(space, index))
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
          // Each writer lets the event loop turn before its next event, as requests arriving on
          // sockets do. Without it, on PGlite (which answers without I/O) the writers' promise chain
          // never yields to timers, the background sequencer (woken by a timer) never runs during
          // the arm, and the audited arm would be timed without its integration work. Both arms.
          await new Promise<void>((resolve) => setImmediate(resolve))
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
    /** An audited arm with the background sequencer running, then what it left queued drained. */
    const withSequencer = async (label: string, append: (index: number) => Promise<void>, offset: number) => {
      sequencer.start()
      try {
        const arm = await timed(label, append, offset)
        // Evidence that the sequencer ran during the arm: what it had not integrated when the writers stopped.
        const queuedAtEnd = (await db.query<{ count: number }>('SELECT count(*)::int AS count FROM audit_pending WHERE space_id = $1', [space])).rows[0]!.count
        const drainStarted = performance.now()
        await audit.integrateNow(space)
        return { ...arm, queuedAtEnd, drainSeconds: (performance.now() - drainStarted) / 1000 }
      } finally {
        await sequencer.stop()
      }
    }

    const warmup = Math.max(20, Math.floor(count / 10))
    sequencer.start()
    await runConcurrently(warmup, writers, bare)
    await runConcurrently(warmup, writers, changeAudited)
    await audit.integrateNow(space)
    await sequencer.stop()
    await runConcurrently(warmup, writers, plain)
    await runConcurrently(warmup, writers, changePlain)

    const bareArm = await withSequencer(`bare audited event (audit.record), ${writers} writers`, bare, warmup)
    const plainArm = await timed(`plain INSERT, ${writers} writers`, plain, warmup)
    const changeArm = await withSequencer(`change + event in a transaction, ${writers} writers`, changeAudited, 2 * warmup + count)
    const changePlainArm = await timed(`change alone (autocommit), ${writers} writers`, changePlain, 2 * warmup + count)

    // Every event integrated once, gapless, the tree whole: a log that lost or doubled events would void the figure.
    const report = await audit.verify(space, [], [])
    if (!report.ok || report.pending !== 0) throw new Error(`audit log not whole after the run: ${JSON.stringify(report.firstBroken)}, ${report.pending} pending`)
    const logged = (await db.query<{ count: number; distinct: number }>(`SELECT count(*)::int AS count, count(DISTINCT id)::int AS distinct FROM audit_events WHERE space_id = $1 AND event = 'bench/append'`, [space])).rows[0]!
    if (logged.count !== 2 * (count + warmup) || logged.distinct !== logged.count) throw new Error(`audited events: ${logged.count} (${logged.distinct} distinct) of ${2 * (count + warmup)} in the log`)
    const plainRows = (await db.query<{ count: number }>('SELECT count(*)::int AS count FROM bench_audit_plain')).rows[0]!.count
    const changeRows = (await db.query<{ count: number }>('SELECT count(*)::int AS count FROM bench_changes')).rows[0]!.count
    if (plainRows !== count + warmup || changeRows !== 2 * (count + warmup)) throw new Error(`plain inserts lost rows: ${plainRows}, ${changeRows}`)

    // The sequencer alone: events queued with it stopped, then one run integrating them all.
    await runConcurrently(auditSequencerEvents, writers, bare)
    const sequencedFrom = (await audit.verify(space, [], [])).checkedEvents
    const sequencerStarted = performance.now()
    const sequencedTo = await audit.integrateNow(space)
    const sequencerSeconds = (performance.now() - sequencerStarted) / 1000
    if (sequencedTo - sequencedFrom !== auditSequencerEvents) throw new Error(`the sequencer integrated ${sequencedTo - sequencedFrom} of ${auditSequencerEvents}`)
    const sequencerRate = auditSequencerEvents / sequencerSeconds

    // Proofs from the stored subtrees of a synthetic tree, checked with the SDK against its root.
    const proofSpace = 'bench-proofs'
    const build = await buildSyntheticTree(ctx, stack, proofSpace, auditProofLeaves)
    const proofs = await measureProofs(stack, audit, proofSpace, auditProofLeaves)

    const rate = (seconds: number) => count / seconds
    const bareRate = rate(bareArm.seconds)
    const plainRate = rate(plainArm.seconds)
    const changeRate = rate(changeArm.seconds)
    const changePlainRate = rate(changePlainArm.seconds)
    const waitNote = (arm: string, waits: WaitProfile | undefined) =>
      waits ? [`${arm} on PostgreSQL, sampled connection states: ${topWaits(waits)}; WAL syncs per event ${(waits.walSyncs / count).toFixed(2)} (pg_stat_wal, cluster-wide).`] : []
    return {
      summary: { gatehouse: `${formatNumber(bareRate)} events/s (with a change: ${formatNumber(changeRate)}/s)`, baseline: `${formatNumber(plainRate)} events/s (change alone: ${formatNumber(changePlainRate)}/s)` },
      figures: {
        gatehouse: {
          throughput: { value: round(bareRate), unit: 'events/s' },
          seconds: { value: round(bareArm.seconds, 3), unit: 's' },
          drainAfterArm: { value: round(bareArm.drainSeconds, 3), unit: 's' },
          queuedAtEnd: { value: bareArm.queuedAtEnd, unit: 'events' },
          changeWithEvent: { value: round(changeRate), unit: 'changes/s' },
          changeWithEventDrain: { value: round(changeArm.drainSeconds, 3), unit: 's' },
          sequencer: { value: round(sequencerRate), unit: 'events/s' },
          proofTreeBuild: { value: round(build.seconds, 1), unit: 's' },
          inclusionProofMedian: { value: round(proofs.inclusion.median, 3), unit: 'ms' },
          inclusionProofP99: { value: round(proofs.inclusion.p99, 3), unit: 'ms' },
          consistencyProofMedian: { value: round(proofs.consistency.median, 3), unit: 'ms' },
          consistencyProofP99: { value: round(proofs.consistency.p99, 3), unit: 'ms' },
        },
        baseline: {
          throughput: { value: round(plainRate), unit: 'events/s' },
          seconds: { value: round(plainArm.seconds, 3), unit: 's' },
          changeAlone: { value: round(changePlainRate), unit: 'changes/s' },
        },
      },
      ratios: [
        { name: 'throughput', value: plainRate / bareRate, formula: 'plain INSERT events/s ÷ bare audited events/s (the goal)' },
        { name: 'change + event', value: changePlainRate / changeRate, formula: 'change alone (autocommit) /s ÷ change + its event in one transaction /s' },
      ],
      goal: { text: 'audited ≥ 0.6× plain inserts (ratio ≤ 1.67)', met: bareRate / plainRate >= 0.6 },
      sizes: { events: count, writers, warmupEvents: warmup, poolConnections: ctx.store === 'postgres' ? POOL_MAX : 1, sequencerEvents: auditSequencerEvents, proofLeaves: auditProofLeaves },
      notes: [
        `Both arms of each pair: ${writers} concurrent writers sharing the server's Db (PostgreSQL: its default pool of ${POOL_MAX} connections; PGlite: its one connection); ${formatNumber(count)} events per arm.`,
        'The goal (issue 12: audited writes ≥ 0.6× plain autocommit inserts into an identical table) is the first pair: a bare audited event, audit.record — one autocommit INSERT into audit_pending with the leaf hash computed on the writer — against one autocommit INSERT per event into a LIKE-copy of audit_events (same indexes, foreign key to spaces), seq from a sequence, a placeholder leaf hash. The background sequencer integrates during the audited arm only (its second write of every event is part of the audited cost).',
        `Bare audited event: ${round(bareRate / plainRate, 2)}× plain; ${formatNumber(bareArm.queuedAtEnd)} events were still queued when the writers stopped (the rest integrated meanwhile), integrated ${round(bareArm.drainSeconds * 1000)} ms later.`,
        `Change + event (not the goal's comparison; what a state-changing call costs): BEGIN, an INSERT into bench_changes, audit.append's INSERT into the queue, COMMIT — ${formatNumber(changeRate)}/s, against the change alone as one autocommit INSERT ${formatNumber(changePlainRate)}/s: ${round(changeRate / changePlainRate, 2)}×; ${formatNumber(changeArm.queuedAtEnd)} events queued at the end, integrated ${round(changeArm.drainSeconds * 1000)} ms later.`,
        'Every writer yields to the event loop (setImmediate) before each event, in every arm: the background sequencer runs on timers, and on PGlite a writer loop that never yields would starve it for the whole audited arm.',
        'Afterwards every audited event is in the log once (distinct ids), with one gapless seq, and the tree verifies.',
        `Sequencer alone on ${ctx.store}: ${formatNumber(auditSequencerEvents)} queued events integrated in ${round(sequencerSeconds, 2)} s = ${formatNumber(sequencerRate)} events/s (batches of up to 5,000 in one transaction each: move, stored subtrees, head).`,
        `Proofs from a synthetic tree of ${formatNumber(auditProofLeaves)} leaves (real SHA-256, built in SQL in ${round(build.seconds, 1)} s; ${build.shortcuts.join('; ')}), ${proofs.rounds} each at random positions, every inclusion proof checked with the SDK: inclusion median ${round(proofs.inclusion.median, 2)} ms (p99 ${round(proofs.inclusion.p99, 2)}), consistency median ${round(proofs.consistency.median, 2)} ms (p99 ${round(proofs.consistency.p99, 2)}); service calls, HTTP excluded.`,
        ...waitNote('Bare audited', bareArm.waits),
        ...waitNote('Plain', plainArm.waits),
        ...waitNote('Change + event', changeArm.waits),
        ...waitNote('Change alone', changePlainArm.waits),
      ],
      evidence: {
        ...(bareArm.waits && plainArm.waits ? { waitsAudited: bareArm.waits, waitsPlain: plainArm.waits } : {}),
        ...(changeArm.waits && changePlainArm.waits ? { waitsChangeWithEvent: changeArm.waits, waitsChangeAlone: changePlainArm.waits } : {}),
      },
    }
  },
}
