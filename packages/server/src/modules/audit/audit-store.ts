import type { Queryable } from '../../db/db.js'
import type { TreeNode } from '@gatehouse/sdk'
import type { AuditEvent, AuditFilter, AuditSigningKey, LeafContent, LogCheckpoint, LogHead, PendingEvent, QueuedEvent, StoredNode } from './audit-types.js'

/** An audit_events row as the drivers return it (the bench's hand-written export maps it too). */
export interface EventRow {
  space_id: string
  seq: number
  id: string
  time: Date
  actor: AuditEvent['actor']
  event: string
  resources: AuditEvent['resources']
  meta: AuditEvent['meta']
  prev_hash: string | null
  hash: string | null
  leaf_hash: string | null
}

const EVENT_COLUMNS = 'space_id, seq, id, time, actor, event, resources, meta, prev_hash, hash, leaf_hash'
const PENDING_COLUMNS = 'space_id, pos, id, time, actor, event, resources, meta, leaf_hash'

const toEvent = (row: EventRow): AuditEvent => ({
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
})

interface PendingRow extends Omit<EventRow, 'seq' | 'prev_hash' | 'hash'> {
  pos: number
}

const toPending = (row: PendingRow): PendingEvent => ({
  id: row.id,
  space: row.space_id,
  pending: true,
  time: row.time.toISOString(),
  actor: row.actor,
  event: row.event,
  resources: row.resources,
  meta: row.meta,
})

/**
 * Turns a filter into WHERE fragments. Every user value is a parameter; the fragments are fixed text.
 */
function filterClauses(spaceId: string, filter: AuditFilter): { where: string[]; params: unknown[] } {
  const params: unknown[] = [spaceId]
  const where = ['space_id = $1']
  const add = (fragment: (placeholder: string) => string, value: unknown) => {
    params.push(value)
    where.push(fragment(`$${params.length}`))
  }
  if (filter.from) add((p) => `time >= ${p}`, filter.from)
  if (filter.to) add((p) => `time < ${p}`, filter.to)
  if (filter.actor) add((p) => `actor ->> 'id' = ${p}`, filter.actor)
  if (filter.event) add((p) => `event = ${p}`, filter.event)
  if (filter.resourceKind || filter.resourceId) {
    const ref: Record<string, string> = {}
    if (filter.resourceKind) ref.kind = filter.resourceKind
    if (filter.resourceId) ref.id = filter.resourceId
    add((p) => `resources @> ${p}::jsonb`, JSON.stringify([ref]))
  }
  return { where, params }
}

/** The columns of a pending event, in insert order, for a VALUES list or a SELECT that builds one. */
export const PENDING_INSERT = 'INSERT INTO audit_pending (space_id, id, time, actor, event, resources, meta, leaf_hash)'

interface HeadRow {
  seq: number
  hash: string
  tree_size: number
  frontier: string
  chain_end: number
  checkpoint_size: number
  checkpoint_time: Date | null
}

const toHead = (row: HeadRow): LogHead => ({
  seq: row.seq,
  chainHash: row.hash,
  treeSize: row.tree_size,
  frontier: row.frontier.match(/.{64}/g) ?? [],
  chainEnd: row.chain_end,
  checkpointSize: row.checkpoint_size,
  checkpointTime: row.checkpoint_time,
})

const HEAD_COLUMNS = 'seq, hash, tree_size, frontier, chain_end, checkpoint_size, checkpoint_time'

export function createAuditStore() {
  return {
    async createHead(tx: Queryable, spaceId: string, genesisHash: string): Promise<void> {
      await tx.query('INSERT INTO audit_heads (space_id, seq, hash) VALUES ($1, 0, $2)', [spaceId, genesisHash])
    },

    async readHead(db: Queryable, spaceId: string): Promise<LogHead | null> {
      const { rows } = await db.query<HeadRow>(`SELECT ${HEAD_COLUMNS} FROM audit_heads WHERE space_id = $1`, [spaceId])
      return rows[0] ? toHead(rows[0]) : null
    },

    /**
     * The space's head, locked for this sequencer until the transaction ends; null when another
     * sequencer holds it (`skipLocked`) or the space has none. NO KEY UPDATE: writers' foreign-key
     * share locks on the head do not conflict with it, so writers never wait for a sequencer.
     */
    async lockHead(tx: Queryable, spaceId: string, skipLocked: boolean): Promise<LogHead | null> {
      const { rows } = await tx.query<HeadRow>(
        `SELECT ${HEAD_COLUMNS} FROM audit_heads WHERE space_id = $1 FOR NO KEY UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`,
        [spaceId],
      )
      return rows[0] ? toHead(rows[0]) : null
    },

    /** Queues one event in the caller's transaction: one INSERT, no lock but the foreign key's. */
    async insertPending(tx: Queryable, event: QueuedEvent): Promise<void> {
      await tx.query(`${PENDING_INSERT} VALUES ($1, $2, $3, $4::jsonb, $5, $6::jsonb, $7::jsonb, $8)`, [
        event.space,
        event.id,
        event.time,
        JSON.stringify(event.actor),
        event.event,
        JSON.stringify(event.resources),
        JSON.stringify(event.meta),
        event.leafHash,
      ])
    },

    /** Spaces with queued events (for the sequencer's timer). */
    async spacesWithPending(db: Queryable, limit: number): Promise<string[]> {
      const { rows } = await db.query<{ space_id: string }>('SELECT DISTINCT space_id FROM audit_pending LIMIT $1', [limit])
      return rows.map((row) => row.space_id)
    },

    /** Spaces with integrated events that no checkpoint signed since `signedBefore`. */
    async spacesCheckpointDue(db: Queryable, signedBefore: Date, limit: number): Promise<string[]> {
      const { rows } = await db.query<{ space_id: string }>(
        'SELECT space_id FROM audit_heads WHERE tree_size > checkpoint_size AND (checkpoint_time IS NULL OR checkpoint_time <= $1) LIMIT $2',
        [signedBefore, limit],
      )
      return rows.map((row) => row.space_id)
    },

    /** Spaces whose tree lags their events (migrated from the hash chain). */
    async spacesBehind(db: Queryable, limit: number): Promise<string[]> {
      const { rows } = await db.query<{ space_id: string }>('SELECT space_id FROM audit_heads WHERE tree_size < seq LIMIT $1', [limit])
      return rows.map((row) => row.space_id)
    },

    /**
     * The oldest queued events visible now, in queue order: their leaf hash, and their content
     * only where no leaf hash was stored.
     */
    async oldestPending(tx: Queryable, spaceId: string, limit: number): Promise<Array<{ pos: number; leafHash: string | null; content: LeafContent | null }>> {
      const { rows } = await tx.query<{ pos: number; leaf_hash: string | null; id: string | null; time: Date | null; actor: unknown; event: string | null; resources: unknown; meta: unknown }>(
        `SELECT pos, leaf_hash,
                CASE WHEN leaf_hash IS NULL THEN id END AS id, CASE WHEN leaf_hash IS NULL THEN time END AS time,
                CASE WHEN leaf_hash IS NULL THEN actor END AS actor, CASE WHEN leaf_hash IS NULL THEN event END AS event,
                CASE WHEN leaf_hash IS NULL THEN resources END AS resources, CASE WHEN leaf_hash IS NULL THEN meta END AS meta
         FROM audit_pending WHERE space_id = $1 ORDER BY pos LIMIT $2`,
        [spaceId, limit],
      )
      return rows.map((row) => ({
        pos: row.pos,
        leafHash: row.leaf_hash,
        content: row.leaf_hash === null ? { id: row.id!, space: spaceId, time: row.time!.toISOString(), actor: row.actor, event: row.event!, resources: row.resources, meta: row.meta } : null,
      }))
    },

    /**
     * One statement: moves the queued events into the log with their seq and leaf hash, stores the
     * subtrees the batch completed and moves the head. Returns how many events moved.
     */
    async integrate(tx: Queryable, spaceId: string, batch: { moves: Array<{ pos: number; seq: number; leaf: string }>; nodes: StoredNode[]; head: { size: number; frontier: string } }): Promise<number> {
      const { rows } = await tx.query<{ moved: number }>(
        `WITH batch AS (SELECT * FROM json_to_recordset($2::json) AS b(pos bigint, seq bigint, leaf text)),
         moved AS (
           DELETE FROM audit_pending p USING batch b WHERE p.space_id = $1 AND p.pos = b.pos
           RETURNING p.space_id, b.seq, p.id, p.time, p.actor, p.event, p.resources, p.meta, b.leaf
         ),
         logged AS (
           INSERT INTO audit_events (space_id, seq, id, time, actor, event, resources, meta, leaf_hash)
           SELECT space_id, seq, id, time, actor, event, resources, meta, leaf FROM moved RETURNING 1
         ),
         nodes AS (
           INSERT INTO audit_tree (space_id, level, idx, hash)
           SELECT $1, n.level, n.idx, n.hash FROM json_to_recordset($3::json) AS n(level smallint, idx bigint, hash text) RETURNING 1
         ),
         head AS (UPDATE audit_heads SET seq = $4, tree_size = $4, frontier = $5 WHERE space_id = $1 RETURNING 1)
         SELECT (SELECT count(*) FROM logged)::int AS moved, (SELECT count(*) FROM nodes)::int AS nodes, (SELECT count(*) FROM head)::int AS heads`,
        [spaceId, JSON.stringify(batch.moves), JSON.stringify(batch.nodes), batch.head.size, batch.head.frontier],
      )
      return rows[0]?.moved ?? 0
    },

    /** Events already in the log but not yet in the tree (migrated from the hash chain), by seq. */
    async unhashed(tx: Queryable, spaceId: string, afterSeq: number, limit: number): Promise<Array<{ seq: number; content: LeafContent; leafHash: string | null }>> {
      const { rows } = await tx.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM audit_events WHERE space_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [spaceId, afterSeq, limit])
      return rows.map((row) => {
        const event = toEvent(row)
        return { seq: row.seq, leafHash: row.leaf_hash, content: { id: event.id, space: event.space, time: event.time, actor: event.actor, event: event.event, resources: event.resources, meta: event.meta } }
      })
    },

    /** Hashes migrated events into the tree: their leaf hashes, the completed subtrees, the head. */
    async hashIn(tx: Queryable, spaceId: string, batch: { leaves: Array<{ seq: number; leaf: string }>; nodes: StoredNode[]; head: { size: number; frontier: string } }): Promise<void> {
      await tx.query(
        `WITH leaves AS (
           UPDATE audit_events e SET leaf_hash = l.leaf FROM json_to_recordset($2::json) AS l(seq bigint, leaf text)
           WHERE e.space_id = $1 AND e.seq = l.seq RETURNING 1
         ),
         nodes AS (
           INSERT INTO audit_tree (space_id, level, idx, hash)
           SELECT $1, n.level, n.idx, n.hash FROM json_to_recordset($3::json) AS n(level smallint, idx bigint, hash text) RETURNING 1
         )
         UPDATE audit_heads SET tree_size = $4, frontier = $5 WHERE space_id = $1`,
        [spaceId, JSON.stringify(batch.leaves), JSON.stringify(batch.nodes), batch.head.size, batch.head.frontier],
      )
    },

    /** Hex hashes of perfect subtrees (level 0: leaves), keyed `level:idx`. */
    async nodes(db: Queryable, spaceId: string, wanted: readonly TreeNode[]): Promise<Map<string, string>> {
      const found = new Map<string, string>()
      if (wanted.length === 0) return found
      // One round trip: leaves from the events (by seq), higher subtrees from audit_tree.
      const { rows } = await db.query<{ level: number; idx: number; hash: string | null }>(
        `SELECT 0 AS level, e.seq - 1 AS idx, e.leaf_hash AS hash FROM audit_events e
         WHERE e.space_id = $1 AND e.seq IN (SELECT (w ->> 'idx')::bigint + 1 FROM json_array_elements($2::json) AS w WHERE (w ->> 'level')::int = 0)
         UNION ALL
         SELECT t.level, t.idx, t.hash FROM audit_tree t JOIN json_to_recordset($2::json) AS w(level smallint, idx bigint) ON t.level = w.level AND t.idx = w.idx
         WHERE t.space_id = $1 AND w.level > 0`,
        [spaceId, JSON.stringify(wanted.map((node) => ({ level: node.level, idx: node.index })))],
      )
      for (const row of rows) if (row.hash) found.set(`${row.level}:${row.idx}`, row.hash)
      return found
    },

    async pendingCount(db: Queryable, spaceId: string): Promise<number> {
      const { rows } = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM audit_pending WHERE space_id = $1', [spaceId])
      return rows[0]?.count ?? 0
    },

    /** Queued events, newest first (what a reader sees as pending). */
    async listPending(db: Queryable, spaceId: string, filter: AuditFilter, limit: number): Promise<PendingEvent[]> {
      const { where, params } = filterClauses(spaceId, filter)
      params.push(limit)
      const { rows } = await db.query<PendingRow>(
        `SELECT ${PENDING_COLUMNS} FROM audit_pending WHERE ${where.join(' AND ')} ORDER BY pos DESC LIMIT $${params.length}`,
        params,
      )
      return rows.map(toPending)
    },

    /** Newest first, `seq < before` when paging on. */
    async list(db: Queryable, spaceId: string, filter: AuditFilter, before: number | null, limit: number): Promise<AuditEvent[]> {
      const { where, params } = filterClauses(spaceId, filter)
      if (before !== null) {
        params.push(before)
        where.push(`seq < $${params.length}`)
      }
      params.push(limit)
      const { rows } = await db.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${params.length}`,
        params,
      )
      return rows.map(toEvent)
    },

    /** Oldest first, `seq > after`: keyset pages for export and verify, constant memory. */
    async pageAfter(db: Queryable, spaceId: string, filter: AuditFilter, after: number, limit: number): Promise<AuditEvent[]> {
      const { where, params } = filterClauses(spaceId, filter)
      params.push(after)
      where.push(`seq > $${params.length}`)
      params.push(limit)
      const { rows } = await db.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq ASC LIMIT $${params.length}`,
        params,
      )
      return rows.map(toEvent)
    },

    async insertLogCheckpoint(tx: Queryable, spaceId: string, checkpoint: LogCheckpoint): Promise<void> {
      await tx.query(
        // A size signed again (on demand, or by a rotated key) keeps the newest note: the one just
        // answered is the one listed. Same size, same root: an older note of it still verifies.
        `INSERT INTO audit_log_checkpoints (space_id, tree_size, root_hash, note, key_id, time) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (space_id, tree_size) DO UPDATE SET note = EXCLUDED.note, key_id = EXCLUDED.key_id, time = EXCLUDED.time
         WHERE audit_log_checkpoints.root_hash = EXCLUDED.root_hash`,
        [spaceId, checkpoint.treeSize, checkpoint.rootHash, checkpoint.note, checkpoint.keyId, checkpoint.time],
      )
      await tx.query('UPDATE audit_heads SET checkpoint_size = $2, checkpoint_time = $3 WHERE space_id = $1', [spaceId, checkpoint.treeSize, checkpoint.time])
    },

    async listLogCheckpoints(db: Queryable, spaceId: string, before: number | null, limit: number): Promise<LogCheckpoint[]> {
      const { rows } = await db.query<{ tree_size: number; root_hash: string; note: string; key_id: string; time: Date }>(
        `SELECT tree_size, root_hash, note, key_id, time FROM audit_log_checkpoints WHERE space_id = $1 AND ($2::bigint IS NULL OR tree_size < $2)
         ORDER BY tree_size DESC LIMIT $3`,
        [spaceId, before, limit],
      )
      return rows.map((row) => ({ treeSize: row.tree_size, rootHash: row.root_hash, note: row.note, keyId: row.key_id, time: row.time.toISOString() }))
    },

    /** Every checkpoint key the database keeps, the current (unretired) one first. */
    async listSigningKeys(db: Queryable): Promise<AuditSigningKey[]> {
      const { rows } = await db.query<{ key_id: string; public_key_pem: string; retired_at: Date | null }>(
        'SELECT key_id, public_key_pem, retired_at FROM audit_signing_keys ORDER BY retired_at DESC NULLS FIRST, added_at DESC',
      )
      return rows.map((row) => ({ keyId: row.key_id, publicKeyPem: row.public_key_pem, retiredAt: row.retired_at }))
    },

    /**
     * The key of the newest checkpoint of any space: what a database whose checkpoints predate the
     * key table expects. (An instance-wide question asked once at start, not a space's query.)
     */
    async newestCheckpointKeyId(db: Queryable): Promise<string | null> {
      const { rows } = await db.query<{ key_id: string }>('SELECT key_id FROM (SELECT key_id, time FROM audit_checkpoints UNION ALL SELECT key_id, time FROM audit_log_checkpoints) AS c ORDER BY time DESC LIMIT 1')
      return rows[0]?.key_id ?? null
    },

    /** Adds a key as the current one; false when another current key is already there. */
    async addCurrentSigningKey(db: Queryable, keyId: string, publicKeyPem: string): Promise<boolean> {
      const { rowCount } = await db.query(
        `INSERT INTO audit_signing_keys (key_id, algorithm, public_key_pem) VALUES ($1, 'Ed25519', $2) ON CONFLICT DO NOTHING`,
        [keyId, publicKeyPem],
      )
      return rowCount === 1
    },

    async retireCurrentSigningKey(tx: Queryable, at: Date): Promise<void> {
      await tx.query('UPDATE audit_signing_keys SET retired_at = $1 WHERE retired_at IS NULL', [at])
    },

    /** The current key's id, locked against a rotation until the transaction ends. */
    async lockCurrentSigningKey(tx: Queryable): Promise<string | null> {
      const { rows } = await tx.query<{ key_id: string }>('SELECT key_id FROM audit_signing_keys WHERE retired_at IS NULL FOR SHARE')
      return rows[0]?.key_id ?? null
    },
  }
}

export type AuditStore = ReturnType<typeof createAuditStore>
