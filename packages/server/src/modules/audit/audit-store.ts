import type { Queryable } from '../../db/db.js'
import type { AuditEvent, AuditFilter, AuditHead, AuditSigningKey, SignedCheckpoint } from './audit-types.js'

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
  prev_hash: string
  hash: string
}

const EVENT_COLUMNS = 'space_id, seq, id, time, actor, event, resources, meta, prev_hash, hash'

const toEvent = (row: EventRow): AuditEvent => ({
  id: row.id,
  space: row.space_id,
  seq: row.seq,
  time: row.time.toISOString(),
  actor: row.actor,
  event: row.event,
  resources: row.resources,
  meta: row.meta,
  prevHash: row.prev_hash,
  hash: row.hash,
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

export function createAuditStore() {
  return {
    async createHead(tx: Queryable, spaceId: string, genesisHash: string): Promise<void> {
      await tx.query('INSERT INTO audit_heads (space_id, seq, hash) VALUES ($1, 0, $2)', [spaceId, genesisHash])
    },

    /** Locks the space's head row until the transaction ends: appends to one space queue here. */
    async lockHead(tx: Queryable, spaceId: string): Promise<AuditHead | null> {
      const { rows } = await tx.query<AuditHead>('SELECT seq, hash FROM audit_heads WHERE space_id = $1 FOR UPDATE', [spaceId])
      return rows[0] ?? null
    },

    async readHead(db: Queryable, spaceId: string): Promise<AuditHead | null> {
      const { rows } = await db.query<AuditHead>('SELECT seq, hash FROM audit_heads WHERE space_id = $1', [spaceId])
      return rows[0] ?? null
    },

    /**
     * Inserts the event and moves the head to it in one statement: every round trip made while the
     * head is locked is time no other append to this space can use.
     */
    async insertEvent(tx: Queryable, event: AuditEvent): Promise<void> {
      await tx.query(
        `WITH appended AS (
           INSERT INTO audit_events (${EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8::jsonb, $9, $10)
           RETURNING space_id, seq, hash
         )
         UPDATE audit_heads h SET seq = appended.seq, hash = appended.hash FROM appended WHERE h.space_id = appended.space_id`,
        [
          event.space,
          event.seq,
          event.id,
          event.time,
          JSON.stringify(event.actor),
          event.event,
          JSON.stringify(event.resources),
          JSON.stringify(event.meta),
          event.prevHash,
          event.hash,
        ],
      )
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

    async insertCheckpoint(db: Queryable, checkpoint: SignedCheckpoint): Promise<void> {
      await db.query(
        `INSERT INTO audit_checkpoints (space_id, seq, hash, time, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING`,
        [checkpoint.space, checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.keyId, checkpoint.signature],
      )
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
      const { rows } = await db.query<{ key_id: string }>('SELECT key_id FROM audit_checkpoints ORDER BY time DESC LIMIT 1')
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

    async listCheckpoints(db: Queryable, spaceId: string, limit: number): Promise<SignedCheckpoint[]> {
      const { rows } = await db.query<{ space_id: string; seq: number; hash: string; time: Date; key_id: string; signature: string }>(
        `SELECT space_id, seq, hash, time, key_id, signature FROM audit_checkpoints WHERE space_id = $1
         ORDER BY seq DESC, time DESC LIMIT $2`,
        [spaceId, limit],
      )
      return rows.map((row) => ({
        space: row.space_id,
        seq: row.seq,
        hash: row.hash,
        time: row.time.toISOString(),
        keyId: row.key_id,
        signature: row.signature,
      }))
    },
  }
}

export type AuditStore = ReturnType<typeof createAuditStore>
