import { performance } from 'node:perf_hooks'
import { checkInclusion, foldRange, frontierNodes, type Checkpoint } from '@gatehouse/sdk'
import type { AuditService } from '../../packages/server/src/modules/audit/audit-service.js'
import type { ScenarioContext } from './types.js'
import type { Stack } from './stack.js'

/** Leaves (or nodes of one level) per statement: big enough to be set-based, small enough to show progress. */
const CHUNK = 1_000_000

/**
 * Indexes of audit_events that no proof reads (proofs read leaves by the primary key only). The
 * synthetic build drops them: maintaining four more indexes on 10 M rows is most of a naive build's
 * time, and the scenario's database is its own and dropped afterwards.
 */
const UNREAD_INDEXES = ['audit_events_by_time', 'audit_events_by_event', 'audit_events_by_actor', 'audit_events_by_resource']

export interface SyntheticTreeBuild {
  seconds: number
  /** What was changed in the scenario's database to build fast, said in the notes. */
  shortcuts: string[]
}

/**
 * A synthetic tree of `leaves` leaves in a space of its own, built set-based in SQL with real
 * SHA-256 hashes (sha256(), PostgreSQL 11+ and PGlite): the leaf rows, every stored subtree level by
 * level, and a head with its right edge — what the sequencer would have left after `leaves` events.
 *
 * Fast enough for 10 M leaves: one INSERT … generate_series per million leaves; each level one
 * INSERT per million nodes, pairing neighbours with lead() over the primary key's order (no sort,
 * no self-join); the tables UNLOGGED on PostgreSQL (no WAL for gigabytes of synthetic rows); the
 * audit_events indexes no proof reads dropped; ANALYZE at the end so proofs are planned on real
 * statistics.
 */
export async function buildSyntheticTree(ctx: ScenarioContext, stack: Stack, space: string, leaves: number): Promise<SyntheticTreeBuild> {
  const { db } = stack
  const started = performance.now()
  const shortcuts: string[] = []
  await db.query(`INSERT INTO spaces (id, display_name) VALUES ($1, 'bench proofs')`, [space])
  await db.query(`INSERT INTO audit_heads (space_id, seq, hash) VALUES ($1, 0, $2)`, [space, '0'.repeat(64)])
  for (const index of UNREAD_INDEXES) await db.query(`DROP INDEX IF EXISTS ${index}`)
  shortcuts.push(`dropped the audit_events indexes no proof reads (${UNREAD_INDEXES.join(', ')})`)
  if (db.kind === 'postgres') {
    await db.query('ALTER TABLE audit_events SET UNLOGGED')
    await db.query('ALTER TABLE audit_tree SET UNLOGGED')
    shortcuts.push('audit_events and audit_tree UNLOGGED (no WAL; reads are the same)')
  }

  const bar = ctx.progress('synthetic tree (leaves, then levels)', leaves * 2)
  try {
    for (let from = 1; from <= leaves; from += CHUNK) {
      const to = Math.min(leaves, from + CHUNK - 1)
      await db.query(
        `INSERT INTO audit_events (space_id, seq, id, time, actor, event, resources, meta, leaf_hash)
         SELECT $1, g, 'evt_p' || g, now(), '{"kind":"system","id":"bench"}', 'bench/proof', '[]', '{}',
                encode(sha256('\\x00'::bytea || convert_to(g::text, 'UTF8')), 'hex')
         FROM generate_series($2::bigint, $3::bigint) AS g`,
        [space, from, to],
      )
      bar.tick(to - from + 1)
    }
    // Level L node i = SHA-256(0x01 ‖ node 2i ‖ node 2i+1) of level L-1 (leaf idx = seq - 1).
    for (let level = 1; 2 ** level <= leaves; level++) {
      const below = Math.floor(leaves / 2 ** (level - 1)) // complete nodes on the level below
      // The rows of the level below in primary-key order (so the window needs no sort), `k` being
      // the key column itself: seq for leaves (idx = seq - 1), idx for stored subtrees.
      const [source, shift] =
        level === 1
          ? [`SELECT seq AS k, leaf_hash AS hash FROM audit_events WHERE space_id = $1 AND seq BETWEEN $3::bigint + 1 AND $4::bigint + 1`, 1]
          : [`SELECT idx AS k, hash FROM audit_tree WHERE space_id = $1 AND level = ${level - 1} AND idx BETWEEN $3::bigint AND $4::bigint`, 0]
      // Chunks of whole pairs: [from, from + CHUNK) with CHUNK even.
      for (let from = 0; from + 1 < below; from += CHUNK) {
        const to = Math.min(below, from + CHUNK) - 1
        const { rowCount } = await db.query(
          `INSERT INTO audit_tree (space_id, level, idx, hash)
           SELECT $1, $2, (b.k - ${shift}) / 2, encode(sha256('\\x01'::bytea || decode(b.hash, 'hex') || decode(b.next, 'hex')), 'hex')
           FROM (SELECT s.k, s.hash, lead(s.hash) OVER (ORDER BY s.k) AS next FROM (${source}) AS s) AS b
           WHERE (b.k - ${shift}) % 2 = 0 AND b.next IS NOT NULL`,
          [space, level, from, to],
        )
        bar.tick(rowCount)
      }
    }
  } finally {
    bar.stop()
  }
  const edge = frontierNodes(leaves)
  const hashes = await db.query<{ level: number; idx: number; hash: string }>(
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
  return { seconds: (performance.now() - started) / 1000, shortcuts }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * 0.99))] ?? 0

export interface ProofTimes {
  rounds: number
  inclusion: { median: number; p99: number }
  consistency: { median: number; p99: number }
}

/**
 * `rounds` inclusion and consistency proofs at random positions of the synthetic tree, through the
 * audit service (HTTP excluded), each inclusion proof checked with the SDK against the tree's root
 * — a proof that came fast and wrong would void the figure.
 */
export async function measureProofs(stack: Stack, audit: AuditService, space: string, leaves: number, rounds = 200): Promise<ProofTimes> {
  const { db } = stack
  const head = (await db.query<{ frontier: string }>('SELECT frontier FROM audit_heads WHERE space_id = $1', [space])).rows[0]!
  const root = foldRange(head.frontier.match(/.{64}/g)!.map((hex) => new Uint8Array(Buffer.from(hex, 'hex'))))
  const checkpoint: Checkpoint = { origin: 'bench', treeSize: leaves, rootHash: root, extensions: [] }
  const inclusionMs: number[] = []
  const consistencyMs: number[] = []
  for (let i = 0; i < rounds; i++) {
    const seq = 1 + Math.floor(Math.random() * leaves)
    let started = performance.now()
    const inclusion = await audit.inclusionProof(space, seq, leaves)
    inclusionMs.push(performance.now() - started)
    const leaf = new Uint8Array(Buffer.from((await db.query<{ leaf_hash: string }>('SELECT leaf_hash FROM audit_events WHERE space_id = $1 AND seq = $2', [space, seq])).rows[0]!.leaf_hash, 'hex'))
    const ok = checkInclusion(checkpoint, leaf, seq - 1, inclusion.hashes.map((hash) => new Uint8Array(Buffer.from(hash, 'base64'))))
    if (!ok.ok) throw new Error(`inclusion proof of ${seq} does not verify: ${ok.reason}`)
    const from = 1 + Math.floor(Math.random() * (leaves - 1))
    started = performance.now()
    const consistency = await audit.consistencyProof(space, from, leaves)
    consistencyMs.push(performance.now() - started)
    if (consistency.hashes.length === 0) throw new Error('empty consistency proof')
  }
  return { rounds, inclusion: { median: median(inclusionMs), p99: p99(inclusionMs) }, consistency: { median: median(consistencyMs), p99: p99(consistencyMs) } }
}
