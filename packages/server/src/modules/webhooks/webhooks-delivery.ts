import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { Webhook } from 'standardwebhooks'
import type { Db } from '../../db/db.js'
import { OutboundFailure, type OutboundClient } from '../../lib/outbound/index.js'
import type { AuditService } from '../audit/audit-service.js'
import { SYSTEM_ACTOR } from '../spaces/spaces-service.js'
import type { SecretSealer } from '../keys/keys-types.js'
import { webhookSecretContext, type WebhooksStore } from './webhooks-store.js'
import type { ClaimedDelivery, DeliveryState } from './webhooks-types.js'

/**
 * The Standard Webhooks retry schedule: the delay before each attempt, so 8 attempts over about
 * 27.5 hours. The first entry (immediately) is where enqueue puts a new delivery.
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000

export interface WorkerLogger {
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface WebhookWorkerDeps {
  db: Db
  store: WebhooksStore
  audit: Pick<AuditService, 'append'>
  clock: () => Date
  /** Delays before attempt 1, 2, … in ms; its length is the number of attempts. */
  schedule?: readonly number[]
  /** Each delay varies by up to this fraction either way (default 0.1), so retries do not arrive in lockstep. */
  jitter?: number
  random?: () => number
  /** The outbound client: its policy decides where deliveries may go, at connect time. */
  outbound: Pick<OutboundClient, 'send'>
  /** Opens the endpoints' sealed signing secrets. */
  secrets: Pick<SecretSealer, 'openSecret'>
  /** Per request (default 15 s). */
  timeoutMs?: number
  /** How long a claim keeps other workers off a delivery; must outlast a request (default timeout + 60 s). */
  leaseMs?: number
  batchSize?: number
  pollIntervalMs?: number
  logger?: WorkerLogger
}

/**
 * `Retry-After` as a delay in ms: delta-seconds or an HTTP date, capped at 24 h; null when absent
 * or unreadable.
 */
export function parseRetryAfter(value: string | null, now: Date): number | null {
  if (!value) return null
  const text = value.trim()
  if (/^\d{1,10}$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS)
  if (!/GMT$/.test(text)) return null
  const at = Date.parse(text)
  if (Number.isNaN(at)) return null
  return Math.min(Math.max(0, at - now.getTime()), MAX_RETRY_AFTER_MS)
}

export interface SendResult {
  attemptedAt: Date
  statusCode: number | null
  error: string | null
  retryAfter: string | null
  durationMs: number
}

export interface Outcome {
  state: Exclude<DeliveryState, 'cancelled'>
  /** 410 Gone: the receiver asks never to be sent anything again. */
  gone: boolean
  nextAttemptAt: Date | null
}

/** What one attempt means for its delivery. `roundAttempt` counts this attempt (1-based). */
export function decideOutcome(
  result: Pick<SendResult, 'statusCode' | 'retryAfter'>,
  roundAttempt: number,
  finishedAt: Date,
  policy: { schedule: readonly number[]; jitter: number; random: () => number },
): Outcome {
  const status = result.statusCode
  if (status !== null && status >= 200 && status < 300) return { state: 'delivered', gone: false, nextAttemptAt: null }
  if (status === 410) return { state: 'failed', gone: true, nextAttemptAt: null }
  const base = policy.schedule[roundAttempt]
  if (base === undefined) return { state: 'failed', gone: false, nextAttemptAt: null }
  let delay = base * (1 + policy.jitter * (2 * policy.random() - 1))
  // Never sooner than the schedule; later when the receiver asks for it.
  const asked = status === 429 || status === 503 ? parseRetryAfter(result.retryAfter, finishedAt) : null
  if (asked !== null) delay = Math.max(delay, asked)
  return { state: 'pending', gone: false, nextAttemptAt: new Date(finishedAt.getTime() + Math.round(delay)) }
}

/**
 * What an attempt records when there was no HTTP answer. Space admins read it, so it never says
 * why a connection failed (refused, reset, not HTTP, TLS, DNS, the outbound policy): that would let
 * them scan ports through Gatehouse. The cause is in the server log.
 */
function describeError(error: unknown): string {
  if (error instanceof OutboundFailure && error.kind === 'timeout') return 'timed out'
  return 'the endpoint could not be reached'
}

/** Both signatures during a rotation's overlap, space-separated as the spec allows. */
function signatureHeader(delivery: ClaimedDelivery, at: Date): string {
  const signatures = [new Webhook(delivery.secret).sign(delivery.messageId, at, delivery.payload)]
  if (delivery.previousSecret && delivery.previousSecretExpiresAt && delivery.previousSecretExpiresAt > at) {
    signatures.push(new Webhook(delivery.previousSecret).sign(delivery.messageId, at, delivery.payload))
  }
  return signatures.join(' ')
}

export function createWebhookWorker(deps: WebhookWorkerDeps) {
  const { db, store, audit, clock, logger } = deps
  const schedule = deps.schedule ?? DEFAULT_RETRY_SCHEDULE_MS
  const policy = { schedule, jitter: deps.jitter ?? 0.1, random: deps.random ?? Math.random }
  const { outbound } = deps
  const timeoutMs = deps.timeoutMs ?? 15_000
  const leaseMs = deps.leaseMs ?? timeoutMs + 60_000
  const batchSize = deps.batchSize ?? 20
  const pollIntervalMs = deps.pollIntervalMs ?? 1000

  async function post(delivery: ClaimedDelivery): Promise<SendResult> {
    const attemptedAt = clock()
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    try {
      const response = await outbound.send({
        purpose: 'webhook',
        url: delivery.url,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Gatehouse-Webhooks/1',
          'webhook-id': delivery.messageId,
          'webhook-timestamp': String(Math.floor(attemptedAt.getTime() / 1000)),
          'webhook-signature': signatureHeader(delivery, attemptedAt),
        },
        body: delivery.payload,
        // A redirect is not followed (the outbound client never follows one): the admin registered
        // this URL, not wherever it points. The body is not needed and is dropped unread.
        timeoutMs,
        maxBytes: 0,
      })
      const redirect = response.status >= 300 && response.status < 400 ? 'redirects are not followed' : null
      const retryAfter = response.headers['retry-after']
      return { attemptedAt, statusCode: response.status, error: redirect, retryAfter: typeof retryAfter === 'string' ? retryAfter : null, durationMs: elapsed() }
    } catch (error) {
      return { attemptedAt, statusCode: null, error: describeError(error), retryAfter: null, durationMs: elapsed() }
    }
  }

  async function deliver(claimed: ClaimedDelivery, leaseId: string): Promise<void> {
    // A secret that does not open throws: nothing is sent, and the delivery is retried when its lease runs out.
    const context = webhookSecretContext(claimed.spaceId, claimed.endpointId)
    const delivery = {
      ...claimed,
      secret: await deps.secrets.openSecret(claimed.secret, context),
      previousSecret: claimed.previousSecret === null ? null : await deps.secrets.openSecret(claimed.previousSecret, context),
    }
    const result = await post(delivery)
    const finishedAt = clock()
    const outcome = decideOutcome(result, delivery.roundAttempts + 1, finishedAt, policy)
    await db.transaction(async (tx) => {
      const held = await store.recordAttempt(
        tx,
        { spaceId: delivery.spaceId, id: delivery.id, leaseId },
        { attemptedAt: result.attemptedAt, statusCode: result.statusCode, error: result.error, durationMs: result.durationMs, nextAttemptAt: outcome.nextAttemptAt },
        { state: outcome.state, roundAttempts: delivery.roundAttempts + 1 },
      )
      if (!held) logger?.warn({ deliveryId: delivery.id }, 'webhook delivery lease lost before its result was recorded')
      if (!outcome.gone) return
      const reason = `the endpoint answered 410 Gone at ${finishedAt.toISOString()}`
      if (!(await store.disableEndpoint(tx, delivery.spaceId, delivery.endpointId, reason, finishedAt))) return
      const cancelled = await store.cancelPending(tx, delivery.spaceId, delivery.endpointId, finishedAt)
      await audit.append(tx, delivery.spaceId, {
        event: 'webhook/disable',
        actor: SYSTEM_ACTOR,
        resources: [
          { kind: 'webhook_endpoint', id: delivery.endpointId },
          { kind: 'webhook_delivery', id: delivery.id },
        ],
        meta: { reason, cancelledDeliveries: cancelled },
      })
    })
  }

  /** One poll: claim what is due (a short statement of its own), send outside any transaction, record each result. */
  async function poll(): Promise<number> {
    const now = clock()
    const leaseId = randomBytes(9).toString('base64url')
    const claimed = await store.claimDue(db, { now, lockedUntil: new Date(now.getTime() + leaseMs), leaseId, limit: batchSize })
    const settled = await Promise.allSettled(claimed.map((delivery) => deliver(delivery, leaseId)))
    const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')
    // An unrecorded result is retried when its lease runs out (at-least-once; receivers dedupe by webhook-id).
    if (failure) throw failure.reason
    return claimed.length
  }

  let running = false
  let loop: Promise<void> | null = null
  let wake: (() => void) | null = null
  let nudged = false
  const inFlight = new Set<Promise<number>>()

  function runOnce(): Promise<number> {
    const run = poll()
    inFlight.add(run)
    const forget = () => inFlight.delete(run)
    run.then(forget, forget)
    return run
  }

  async function runLoop(): Promise<void> {
    while (running) {
      nudged = false
      let attempted = 0
      try {
        attempted = await runOnce()
      } catch (error) {
        logger?.error({ err: error }, 'webhook delivery poll failed')
      }
      if (!running) break
      // A full batch suggests more are due; a nudge means something was queued during the poll.
      if (attempted >= batchSize || nudged) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, pollIntervalMs)
        function done() {
          clearTimeout(timer)
          wake = null
          resolve()
        }
        wake = done
      })
    }
  }

  return {
    /** Attempts every due delivery once (up to a batch); resolves to how many were attempted. */
    runOnce,
    start(): void {
      if (running) return
      running = true
      loop = runLoop()
    },
    /** Stops polling and waits for attempts in flight to be sent and recorded. */
    async stop(): Promise<void> {
      running = false
      wake?.()
      await loop
      loop = null
      await Promise.allSettled([...inFlight])
    },
    /** Polls now instead of at the next interval (an in-process nudge after a commit that queued deliveries). */
    notify(): void {
      if (!running) return
      nudged = true
      wake?.()
    },
  }
}

export type WebhookWorker = ReturnType<typeof createWebhookWorker>
