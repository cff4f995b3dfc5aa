import { randomBytes } from 'node:crypto'
import type { Db, Queryable } from '../../db/db.js'
import { badRequest, conflict, notFound } from '../../http/errors.js'
import { decodeSeqCursor, encodeSeqCursor } from '../../lib/cursor.js'
import { newId } from '../../lib/ids.js'
import { keysetPage } from '../../lib/paging.js'
import { assertOutboundUrl, type OutboundPolicy } from '../../lib/outbound/index.js'
import type { AuditService } from '../audit/audit-service.js'
import type { Principal } from '../auth/auth-types.js'
import type { SecretSealer } from '../keys/keys-types.js'
import { webhookSecretContext, type WebhooksStore } from './webhooks-store.js'
import type {
  DeliveryDetail,
  DeliveryState,
  EndpointChanges,
  EndpointWithSecret,
  NewEndpoint,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEvent,
  WebhookEventFilter,
} from './webhooks-types.js'

export interface WebhooksServiceDeps {
  db: Db
  store: WebhooksStore
  audit: Pick<AuditService, 'append'>
  clock: () => Date
  /** Wakes the delivery worker; called after a commit that queued deliveries. */
  notify: () => void
  /** How long a rotated-out secret keeps signing (default 24 h). */
  secretOverlapMs?: number
  /** Where deliveries may go (checked again at connect time). */
  outboundPolicy: OutboundPolicy
  /** Signing secrets are stored sealed under the master key. */
  secrets: Pick<SecretSealer, 'sealSecret'>
}

export const DEFAULT_SECRET_OVERLAP_MS = 24 * 3600 * 1000
export const MAX_URL_LENGTH = 2048

/** Standard Webhooks secret format: `whsec_` and base64 of 24 random bytes. */
export const newSigningSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`

// Frequent infrastructure events an endpoint gets only when it names them: `*` does not include them
// (an audit log signs a checkpoint every N events or seconds; existing `*` subscribers did not ask).
const OPT_IN_EVENT_TYPES: readonly string[] = ['audit/checkpoint']

// Any module may announce an event; the type only has to look like one (`noun/verb`). Endpoint
// filters are limited to the documented types, and `*` takes everything.
const EVENT_TYPE = /^[a-z][a-z0-9_]{0,62}\/[a-z][a-z0-9_]{0,62}$/

const endpointRef = (id: string) => ({ kind: 'webhook_endpoint', id })

function checkUrl(raw: string, policy: OutboundPolicy): string {
  if (raw.length > MAX_URL_LENGTH) throw badRequest(`url must be at most ${MAX_URL_LENGTH} characters`)
  assertOutboundUrl(raw, policy, 'url')
  return raw
}

// Reviewers read the audit log, and webhook URLs often carry a token in the path or query: the log
// records only where deliveries go, not the whole URL.
const auditOrigin = (url: string | undefined) => (url === undefined ? undefined : new URL(url).origin)

const dedupe = (events: WebhookEventFilter[] | undefined) => (events ? [...new Set(events)] : undefined)

export function createWebhooksService({ db, store, audit, clock, notify, secretOverlapMs = DEFAULT_SECRET_OVERLAP_MS, outboundPolicy, secrets }: WebhooksServiceDeps) {
  const mustGetEndpoint = async (spaceId: string, endpointId: string) =>
    (await store.getEndpoint(db, spaceId, endpointId)) ?? Promise.reject(notFound('webhook endpoint', endpointId))

  const mustGetDelivery = async (spaceId: string, endpointId: string, deliveryId: string): Promise<DeliveryDetail> =>
    (await store.getDelivery(db, spaceId, endpointId, deliveryId)) ?? Promise.reject(notFound('delivery', deliveryId))

  return {
    async create(by: Principal, input: NewEndpoint): Promise<EndpointWithSecret> {
      const id = newId('whe')
      const secret = newSigningSecret()
      const url = checkUrl(input.url, outboundPolicy)
      const events = dedupe(input.events) ?? []
      const enabled = input.enabled ?? true
      // Stored sealed under the master key; answered in plain text only here, once.
      const sealed = await secrets.sealSecret(secret, webhookSecretContext(by.spaceId, id))
      await db.transaction(async (tx) => {
        await store.insertEndpoint(tx, by.spaceId, { id, url, description: input.description ?? '', events, enabled, secret: sealed, now: clock() })
        await audit.append(tx, by.spaceId, {
          event: 'webhook/create',
          actor: by.actor,
          resources: [endpointRef(id)],
          meta: { urlOrigin: auditOrigin(url), events, enabled },
        })
      })
      return { ...(await mustGetEndpoint(by.spaceId, id)), secret }
    },

    get: (spaceId: string, endpointId: string) => mustGetEndpoint(spaceId, endpointId),

    list: (spaceId: string, cursor: string | null, limit: number) => keysetPage((n) => store.listEndpoints(db, spaceId, cursor, n), limit),

    /** Disabling cancels the endpoint's queued deliveries (they can be redelivered once it is enabled again). */
    async update(by: Principal, endpointId: string, changes: EndpointChanges): Promise<WebhookEndpoint> {
      const url = changes.url === undefined ? undefined : checkUrl(changes.url, outboundPolicy)
      const events = dedupe(changes.events)
      await db.transaction(async (tx) => {
        const now = clock()
        const updated = await store.updateEndpoint(tx, by.spaceId, endpointId, {
          url,
          description: changes.description,
          events,
          enabled: changes.enabled,
          disabledReason: changes.enabled === false ? 'disabled through the API' : null,
          now,
        })
        if (!updated) throw notFound('webhook endpoint', endpointId)
        const cancelled = changes.enabled === false ? await store.cancelPending(tx, by.spaceId, endpointId, now) : 0
        await audit.append(tx, by.spaceId, {
          event: 'webhook/update',
          actor: by.actor,
          resources: [endpointRef(endpointId)],
          meta: {
            urlOrigin: auditOrigin(url),
            descriptionChanged: changes.description !== undefined,
            events,
            enabled: changes.enabled,
            cancelledDeliveries: cancelled,
          },
        })
      })
      return mustGetEndpoint(by.spaceId, endpointId)
    },

    async remove(by: Principal, endpointId: string): Promise<void> {
      await db.transaction(async (tx) => {
        if (!(await store.deleteEndpoint(tx, by.spaceId, endpointId))) throw notFound('webhook endpoint', endpointId)
        await audit.append(tx, by.spaceId, { event: 'webhook/delete', actor: by.actor, resources: [endpointRef(endpointId)] })
      })
    },

    /**
     * A new secret signs from now on; the old one keeps signing alongside it until the overlap ends,
     * so receivers can switch over without losing a delivery. An overlap of 0 drops the old one now
     * (for a leaked secret).
     */
    async rotateSecret(by: Principal, endpointId: string, options: { overlapSeconds?: number } = {}): Promise<EndpointWithSecret> {
      const secret = newSigningSecret()
      const overlapMs = options.overlapSeconds === undefined ? secretOverlapMs : options.overlapSeconds * 1000
      const sealed = await secrets.sealSecret(secret, webhookSecretContext(by.spaceId, endpointId))
      await db.transaction(async (tx) => {
        const now = clock()
        const previousExpiresAt = new Date(now.getTime() + overlapMs)
        if (!(await store.rotateSecret(tx, by.spaceId, endpointId, sealed, previousExpiresAt, now))) throw notFound('webhook endpoint', endpointId)
        await audit.append(tx, by.spaceId, {
          event: 'webhook/rotate_secret',
          actor: by.actor,
          resources: [endpointRef(endpointId)],
          meta: { previousSecretExpiresAt: previousExpiresAt.toISOString() },
        })
      })
      return { ...(await mustGetEndpoint(by.spaceId, endpointId)), secret }
    },

    async listDeliveries(spaceId: string, endpointId: string, query: { state: DeliveryState | null; cursor: string | null; limit: number }) {
      await mustGetEndpoint(spaceId, endpointId)
      const beforeSeq = query.cursor === null ? null : decodeSeqCursor(query.cursor)
      const rows = await store.listDeliveries(db, spaceId, endpointId, { state: query.state, beforeSeq }, query.limit + 1)
      const page = rows.slice(0, query.limit)
      const last = page[page.length - 1]
      const deliveries: WebhookDelivery[] = page.map(({ seq: _seq, ...delivery }) => delivery)
      return { deliveries, nextCursor: rows.length > query.limit && last ? encodeSeqCursor(last.seq) : null }
    },

    getDelivery: (spaceId: string, endpointId: string, deliveryId: string) => mustGetDelivery(spaceId, endpointId, deliveryId),

    /** Sends a finished delivery again: same message, so the same `webhook-id`, and a fresh retry schedule. */
    async redeliver(by: Principal, endpointId: string, deliveryId: string): Promise<DeliveryDetail> {
      const endpoint = await mustGetEndpoint(by.spaceId, endpointId)
      if (!endpoint.enabled) throw conflict(`webhook endpoint '${endpointId}' is disabled: enable it before redelivering`)
      await db.transaction(async (tx) => {
        if (!(await store.requeue(tx, by.spaceId, endpointId, deliveryId, clock()))) {
          const existing = await store.getDelivery(tx, by.spaceId, endpointId, deliveryId)
          if (!existing) throw notFound('delivery', deliveryId)
          throw conflict(`delivery '${deliveryId}' is already queued`)
        }
        await audit.append(tx, by.spaceId, {
          event: 'webhook/redeliver',
          actor: by.actor,
          resources: [endpointRef(endpointId), { kind: 'webhook_delivery', id: deliveryId }],
        })
      })
      notify()
      return mustGetDelivery(by.spaceId, endpointId, deliveryId)
    },

    /**
     * Queues an event for every enabled endpoint that subscribes to it, inside the caller's
     * transaction: it is sent only if that transaction commits, and is not lost if the process dies
     * right after the commit (the outbox row outlives it). Nothing is sent here; call `notify()`
     * after the commit to send without waiting for the next poll.
     */
    async enqueue(tx: Queryable, spaceId: string, event: WebhookEvent): Promise<void> {
      if (!EVENT_TYPE.test(event.type)) throw new Error(`webhook event type '${event.type}' must look like 'noun/verb'`)
      const endpointIds = await store.matchingEndpointIds(tx, spaceId, event.type, !OPT_IN_EVENT_TYPES.includes(event.type))
      // No subscriber, no message: spaces without webhooks pay one indexed read per event.
      if (endpointIds.length === 0) return
      const now = clock()
      const messageId = newId('msg')
      const payload = JSON.stringify({ type: event.type, timestamp: now.toISOString(), data: event.data })
      await store.insertMessage(tx, spaceId, { id: messageId, type: event.type, payload, createdAt: now })
      await store.insertDeliveries(tx, spaceId, messageId, endpointIds.map((endpointId) => ({ id: newId('whd'), endpointId })), now)
    },

    /** Wakes the delivery worker (if running) so that just-committed events go out without waiting for a poll. */
    notify,
  }
}

export type WebhooksService = ReturnType<typeof createWebhooksService>
