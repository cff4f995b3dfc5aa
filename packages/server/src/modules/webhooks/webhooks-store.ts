import type { Queryable } from '../../db/db.js'
import type {
  ClaimedDelivery,
  DeliveryAttempt,
  DeliveryState,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEventFilter,
  WebhookPayload,
} from './webhooks-types.js'

interface EndpointRow {
  id: string
  url: string
  description: string
  events: WebhookEventFilter[]
  enabled: boolean
  disabled_reason: string | null
  previous_secret_expires_at: Date | null
  created_at: Date
  updated_at: Date
}

const ENDPOINT_COLUMNS = 'id, url, description, events, enabled, disabled_reason, previous_secret_expires_at, created_at, updated_at'

const toEndpoint = (row: EndpointRow): WebhookEndpoint => ({
  id: row.id,
  url: row.url,
  description: row.description,
  events: row.events,
  enabled: row.enabled,
  disabledReason: row.disabled_reason,
  previousSecretExpiresAt: row.previous_secret_expires_at?.toISOString() ?? null,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
})

interface DeliveryRow {
  id: string
  seq: number
  endpoint_id: string
  message_id: string
  type: string
  state: DeliveryState
  attempts: number
  next_attempt_at: Date | null
  last_attempt_at: Date | null
  last_status: number | null
  created_at: Date
  updated_at: Date
}

/** `extra` is a fixed column list from this file, never input. */
const deliverySelect = (extra = '') => `SELECT ${extra}d.id, d.seq, d.endpoint_id, d.message_id, m.type, d.state, d.attempts, d.next_attempt_at,
  d.last_attempt_at, d.last_status, d.created_at, d.updated_at
  FROM webhook_deliveries d JOIN webhook_messages m ON m.space_id = d.space_id AND m.id = d.message_id`

const toDelivery = (row: DeliveryRow): WebhookDelivery & { seq: number } => ({
  id: row.id,
  seq: row.seq,
  endpointId: row.endpoint_id,
  messageId: row.message_id,
  eventType: row.type,
  state: row.state,
  attemptCount: row.attempts,
  nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
  lastAttemptAt: row.last_attempt_at?.toISOString() ?? null,
  lastStatusCode: row.last_status,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
})

interface AttemptRow {
  attempt: number
  attempted_at: Date
  status_code: number | null
  error: string | null
  duration_ms: number
  next_attempt_at: Date | null
}

const toAttempt = (row: AttemptRow): DeliveryAttempt => ({
  attempt: row.attempt,
  attemptedAt: row.attempted_at.toISOString(),
  statusCode: row.status_code,
  error: row.error,
  durationMs: row.duration_ms,
  nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
})

interface ClaimRow {
  space_id: string
  id: string
  endpoint_id: string
  message_id: string
  url: string
  payload: string
  secret: string
  previous_secret: string | null
  previous_secret_expires_at: Date | null
  round_attempts: number
}

export interface AttemptRecord {
  attemptedAt: Date
  statusCode: number | null
  error: string | null
  durationMs: number
  nextAttemptAt: Date | null
}

/** The sealing context of an endpoint's secrets: the current and the previous one share it (rotation moves one to the other). */
export const webhookSecretContext = (spaceId: string, endpointId: string) => `webhook_endpoints:${spaceId}:${endpointId}`

export function createWebhooksStore() {
  return {
    /** Rewrites every endpoint's secrets through `reseal` (sealing plain ones, rewrapping sealed ones). */
    async resealSecrets(q: Queryable, reseal: (stored: string, context: string) => Promise<string>): Promise<number> {
      const { rows } = await q.query<{ space_id: string; id: string; secret: string; previous_secret: string | null }>(
        'SELECT space_id, id, secret, previous_secret FROM webhook_endpoints ORDER BY space_id, id FOR UPDATE',
      )
      let changed = 0
      for (const row of rows) {
        const context = webhookSecretContext(row.space_id, row.id)
        const secret = await reseal(row.secret, context)
        const previous = row.previous_secret === null ? null : await reseal(row.previous_secret, context)
        if (secret === row.secret && previous === row.previous_secret) continue
        await q.query('UPDATE webhook_endpoints SET secret = $3, previous_secret = $4 WHERE space_id = $1 AND id = $2', [row.space_id, row.id, secret, previous])
        changed++
      }
      return changed
    },

    async insertEndpoint(
      tx: Queryable,
      spaceId: string,
      endpoint: { id: string; url: string; description: string; events: WebhookEventFilter[]; enabled: boolean; secret: string; now: Date },
    ): Promise<void> {
      await tx.query(
        `INSERT INTO webhook_endpoints (space_id, id, url, description, events, enabled, disabled_reason, secret, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $9)`,
        [
          spaceId,
          endpoint.id,
          endpoint.url,
          endpoint.description,
          JSON.stringify(endpoint.events),
          endpoint.enabled,
          endpoint.enabled ? null : 'created disabled',
          endpoint.secret,
          endpoint.now,
        ],
      )
    },

    async getEndpoint(db: Queryable, spaceId: string, endpointId: string): Promise<WebhookEndpoint | null> {
      const { rows } = await db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE space_id = $1 AND id = $2`, [
        spaceId,
        endpointId,
      ])
      return rows[0] ? toEndpoint(rows[0]) : null
    },

    async listEndpoints(db: Queryable, spaceId: string, after: string | null, limit: number): Promise<WebhookEndpoint[]> {
      const { rows } = await db.query<EndpointRow>(
        `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE space_id = $1 AND ($3::text IS NULL OR id > $3) ORDER BY id LIMIT $2`,
        [spaceId, limit, after],
      )
      return rows.map(toEndpoint)
    },

    /** `disabledReason` is written only when `enabled` is given: enabling clears it. */
    async updateEndpoint(
      tx: Queryable,
      spaceId: string,
      endpointId: string,
      changes: { url?: string; description?: string; events?: WebhookEventFilter[]; enabled?: boolean; disabledReason?: string | null; now: Date },
    ): Promise<boolean> {
      const { rowCount } = await tx.query(
        `UPDATE webhook_endpoints SET url = coalesce($3, url), description = coalesce($4, description),
           events = coalesce($5::jsonb, events), enabled = coalesce($6, enabled),
           disabled_reason = CASE WHEN $6::boolean IS NULL THEN disabled_reason ELSE $7 END, updated_at = $8
         WHERE space_id = $1 AND id = $2`,
        [
          spaceId,
          endpointId,
          changes.url ?? null,
          changes.description ?? null,
          changes.events ? JSON.stringify(changes.events) : null,
          changes.enabled ?? null,
          changes.disabledReason ?? null,
          changes.now,
        ],
      )
      return rowCount > 0
    },

    /** Its deliveries and their attempts go with it (cascade); the audit log keeps the record. */
    async deleteEndpoint(tx: Queryable, spaceId: string, endpointId: string): Promise<boolean> {
      const { rowCount } = await tx.query('DELETE FROM webhook_endpoints WHERE space_id = $1 AND id = $2', [spaceId, endpointId])
      return rowCount > 0
    },

    /** The current secret becomes the previous one, valid until `previousExpiresAt`. */
    async rotateSecret(tx: Queryable, spaceId: string, endpointId: string, secret: string, previousExpiresAt: Date, now: Date): Promise<boolean> {
      const { rowCount } = await tx.query(
        `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = $4, secret = $3, updated_at = $5
         WHERE space_id = $1 AND id = $2`,
        [spaceId, endpointId, secret, previousExpiresAt, now],
      )
      return rowCount > 0
    },

    /** Disables an endpoint that is still enabled; false if it was already disabled (or is gone). */
    async disableEndpoint(tx: Queryable, spaceId: string, endpointId: string, reason: string, now: Date): Promise<boolean> {
      const { rowCount } = await tx.query(
        'UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, updated_at = $4 WHERE space_id = $1 AND id = $2 AND enabled',
        [spaceId, endpointId, reason, now],
      )
      return rowCount > 0
    },

    /** Stops every queued delivery of an endpoint (it was disabled); they can be redelivered later. */
    async cancelPending(tx: Queryable, spaceId: string, endpointId: string, now: Date): Promise<number> {
      const { rowCount } = await tx.query(
        `UPDATE webhook_deliveries SET state = 'cancelled', next_attempt_at = NULL, locked_until = NULL, lease_id = NULL, updated_at = $3
         WHERE space_id = $1 AND endpoint_id = $2 AND state = 'pending'`,
        [spaceId, endpointId, now],
      )
      return rowCount
    },

    /** Enabled endpoints whose filter takes this event type. */
    /** `wildcard`: whether endpoints subscribed to everything (`*`, or no list) get this type too. */
    async matchingEndpointIds(tx: Queryable, spaceId: string, type: string, wildcard = true): Promise<string[]> {
      const { rows } = await tx.query<{ id: string }>(
        `SELECT id FROM webhook_endpoints WHERE space_id = $1 AND enabled
           AND (($3::boolean AND (events = '[]'::jsonb OR events @> '["*"]'::jsonb)) OR events @> jsonb_build_array($2::text))
         ORDER BY id`,
        [spaceId, type, wildcard],
      )
      return rows.map((row) => row.id)
    },

    async insertMessage(tx: Queryable, spaceId: string, message: { id: string; type: string; payload: string; createdAt: Date }): Promise<void> {
      await tx.query('INSERT INTO webhook_messages (space_id, id, type, payload, created_at) VALUES ($1, $2, $3, $4, $5)', [
        spaceId,
        message.id,
        message.type,
        message.payload,
        message.createdAt,
      ])
    },

    /** One statement for all of a message's deliveries, due at once. */
    async insertDeliveries(tx: Queryable, spaceId: string, messageId: string, deliveries: Array<{ id: string; endpointId: string }>, now: Date) {
      await tx.query(
        `INSERT INTO webhook_deliveries (space_id, id, endpoint_id, message_id, state, next_attempt_at, created_at, updated_at)
         SELECT $1, x.id, x.endpoint_id, $2, 'pending', $4, $4, $4 FROM jsonb_to_recordset($3::jsonb) AS x (id text, endpoint_id text)`,
        [spaceId, messageId, JSON.stringify(deliveries.map((d) => ({ id: d.id, endpoint_id: d.endpointId }))), now],
      )
    },

    async listDeliveries(
      db: Queryable,
      spaceId: string,
      endpointId: string,
      filter: { state: DeliveryState | null; beforeSeq: number | null },
      limit: number,
    ): Promise<Array<WebhookDelivery & { seq: number }>> {
      const { rows } = await db.query<DeliveryRow>(
        `${deliverySelect()} WHERE d.space_id = $1 AND d.endpoint_id = $2 AND ($3::text IS NULL OR d.state = $3)
           AND ($4::bigint IS NULL OR d.seq < $4) ORDER BY d.seq DESC LIMIT $5`,
        [spaceId, endpointId, filter.state, filter.beforeSeq, limit],
      )
      return rows.map(toDelivery)
    },

    async getDelivery(db: Queryable, spaceId: string, endpointId: string, deliveryId: string) {
      const { rows } = await db.query<DeliveryRow & { payload: string }>(
        `${deliverySelect('m.payload, ')} WHERE d.space_id = $1 AND d.endpoint_id = $2 AND d.id = $3`,
        [spaceId, endpointId, deliveryId],
      )
      const row = rows[0]
      if (!row) return null
      const attempts = await db.query<AttemptRow>(
        `SELECT attempt, attempted_at, status_code, error, duration_ms, next_attempt_at FROM webhook_attempts
         WHERE space_id = $1 AND delivery_id = $2 ORDER BY attempt`,
        [spaceId, deliveryId],
      )
      const { seq: _seq, ...delivery } = toDelivery(row)
      return { ...delivery, payload: JSON.parse(row.payload) as WebhookPayload, attempts: attempts.rows.map(toAttempt) }
    },

    /** Queues a finished delivery again with a fresh retry schedule; the message (and webhook-id) stay. */
    async requeue(tx: Queryable, spaceId: string, endpointId: string, deliveryId: string, now: Date): Promise<boolean> {
      const { rowCount } = await tx.query(
        `UPDATE webhook_deliveries SET state = 'pending', round_attempts = 0, next_attempt_at = $4, locked_until = NULL,
           lease_id = NULL, updated_at = $4
         WHERE space_id = $1 AND endpoint_id = $2 AND id = $3 AND state <> 'pending'`,
        [spaceId, endpointId, deliveryId, now],
      )
      return rowCount > 0
    },

    /**
     * Leases up to `limit` due deliveries of enabled endpoints, across all spaces, in one statement
     * (its own short transaction). SKIP LOCKED lets several workers on one PostgreSQL claim side by
     * side; the lease keeps a claimed row from being claimed again until it runs out.
     */
    async claimDue(db: Queryable, claim: { now: Date; lockedUntil: Date; leaseId: string; limit: number }): Promise<ClaimedDelivery[]> {
      const { rows } = await db.query<ClaimRow>(
        `WITH due AS (
           SELECT d.space_id, d.id, d.endpoint_id, d.message_id, d.round_attempts, e.url, e.secret, e.previous_secret,
             e.previous_secret_expires_at, m.payload
           FROM webhook_deliveries d
           JOIN webhook_endpoints e ON e.space_id = d.space_id AND e.id = d.endpoint_id
           JOIN webhook_messages m ON m.space_id = d.space_id AND m.id = d.message_id
           WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.locked_until IS NULL OR d.locked_until <= $1) AND e.enabled
           ORDER BY d.next_attempt_at
           LIMIT $4
           FOR UPDATE OF d SKIP LOCKED
         )
         UPDATE webhook_deliveries w SET locked_until = $2, lease_id = $3
         FROM due WHERE w.space_id = due.space_id AND w.id = due.id
         RETURNING due.*`,
        [claim.now, claim.lockedUntil, claim.leaseId, claim.limit],
      )
      return rows.map((row) => ({
        spaceId: row.space_id,
        id: row.id,
        endpointId: row.endpoint_id,
        messageId: row.message_id,
        url: row.url,
        payload: row.payload,
        secret: row.secret,
        previousSecret: row.previous_secret,
        previousSecretExpiresAt: row.previous_secret_expires_at,
        roundAttempts: row.round_attempts,
      }))
    },

    /**
     * Records one attempt and, if this worker still holds the lease, its outcome. Returns false when
     * the lease was lost (it ran out and another worker took over, or the delivery was cancelled or
     * deleted meanwhile): the attempt is still logged, but the outcome is left to the new holder.
     */
    async recordAttempt(
      tx: Queryable,
      delivery: { spaceId: string; id: string; leaseId: string },
      attempt: AttemptRecord,
      outcome: { state: DeliveryState; roundAttempts: number },
    ): Promise<boolean> {
      const counted = await tx.query<{ attempts: number; lease_id: string | null }>(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = $3, last_status = $4, updated_at = $3
         WHERE space_id = $1 AND id = $2 RETURNING attempts, lease_id`,
        [delivery.spaceId, delivery.id, attempt.attemptedAt, attempt.statusCode],
      )
      const row = counted.rows[0]
      if (!row) return false
      await tx.query(
        `INSERT INTO webhook_attempts (space_id, delivery_id, attempt, attempted_at, status_code, error, duration_ms, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [delivery.spaceId, delivery.id, row.attempts, attempt.attemptedAt, attempt.statusCode, attempt.error, attempt.durationMs, attempt.nextAttemptAt],
      )
      if (row.lease_id !== delivery.leaseId) return false
      await tx.query(
        `UPDATE webhook_deliveries SET state = $3, round_attempts = $4, next_attempt_at = $5, locked_until = NULL, lease_id = NULL
         WHERE space_id = $1 AND id = $2`,
        [delivery.spaceId, delivery.id, outcome.state, outcome.roundAttempts, outcome.state === 'pending' ? attempt.nextAttemptAt : null],
      )
      return true
    },
  }
}

export type WebhooksStore = ReturnType<typeof createWebhooksStore>
