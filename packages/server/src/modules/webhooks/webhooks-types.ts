/** The events an endpoint can subscribe to; `*` (or an empty list) subscribes to all of them. */
export const WEBHOOK_EVENT_TYPES = ['access/request', 'access/approve', 'access/deny', 'access/grant', 'access/revoke', 'access/expire', 'audit/checkpoint'] as const
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number]
export type WebhookEventFilter = WebhookEventType | '*'

export interface WebhookEndpoint {
  id: string
  url: string
  description: string
  events: WebhookEventFilter[]
  enabled: boolean
  disabledReason: string | null
  /** Until then the previous secret signs too (a rotation's overlap); null when there is none. */
  previousSecretExpiresAt: string | null
  createdAt: string
  updatedAt: string
}

/** An endpoint as returned at creation and rotation: the only times the secret is shown. */
export interface EndpointWithSecret extends WebhookEndpoint {
  secret: string
}

export interface NewEndpoint {
  url: string
  description?: string
  events?: WebhookEventFilter[]
  enabled?: boolean
}

export interface EndpointChanges {
  url?: string
  description?: string
  events?: WebhookEventFilter[]
  enabled?: boolean
}

export type DeliveryState = 'pending' | 'delivered' | 'failed' | 'cancelled'
export const DELIVERY_STATES: readonly DeliveryState[] = ['pending', 'delivered', 'failed', 'cancelled']

export interface WebhookDelivery {
  id: string
  endpointId: string
  /** The `webhook-id` header: identical on every attempt, the receiver's idempotency key. */
  messageId: string
  eventType: string
  state: DeliveryState
  attemptCount: number
  nextAttemptAt: string | null
  lastAttemptAt: string | null
  lastStatusCode: number | null
  createdAt: string
  updatedAt: string
}

export interface DeliveryAttempt {
  attempt: number
  attemptedAt: string
  statusCode: number | null
  error: string | null
  durationMs: number
  nextAttemptAt: string | null
}

export interface WebhookPayload {
  type: string
  timestamp: string
  data: Record<string, unknown>
}

export interface DeliveryDetail extends WebhookDelivery {
  payload: WebhookPayload
  attempts: DeliveryAttempt[]
}

/** What another module announces, inside its own transaction. */
export interface WebhookEvent {
  type: string
  data: Record<string, unknown>
}

/** A delivery a worker has leased, with everything needed to send it without another query. */
export interface ClaimedDelivery {
  spaceId: string
  id: string
  endpointId: string
  messageId: string
  url: string
  payload: string
  secret: string
  previousSecret: string | null
  previousSecretExpiresAt: Date | null
  /** Attempts already made in this round (the retry schedule's position). */
  roundAttempts: number
}
