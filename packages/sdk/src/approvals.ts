import { GatehouseAPI, type GatehouseAPIOptions } from './client.js'
import { defaultApprovalWaitMs } from './config.js'
import { parseDuration } from './duration.js'
import {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  GatehouseError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from './errors.js'
import type { Grant, Petitioner, PetitionView, ResourceRef } from './types.js'

export type ApprovalErrorKind = 'waiting' | 'denied'

/** Thrown by approval() when access is not granted (yet). `getErrorKind(err)` says which. */
export class ApprovalError extends GatehouseError {
  constructor(
    readonly kind: ApprovalErrorKind,
    readonly petition: PetitionView,
  ) {
    super(kind === 'waiting' ? `access is waiting for a decision (petition ${petition.id})` : `access was denied (petition ${petition.id})`)
  }
}

export interface ApprovalOptions {
  petitioners: Petitioner[]
  resources: Array<Pick<ResourceRef, 'kind' | 'id'>>
  reason?: string
  /** Seconds, or `'30m'`, `'2h'`, `'1d'`. */
  duration?: number | string
  /** How long to wait for a decision before throwing `waiting` (default 10 s as Indent's, or GATEHOUSE_APPROVAL_WAIT_MS; 0 returns at once). */
  wait?: { timeoutMs: number }
  /** A client of your own; by default one is made from GATEHOUSE_URL, GATEHOUSE_SPACE and GATEHOUSE_API_TOKEN. */
  client?: GatehouseAPI
  clientOptions?: GatehouseAPIOptions
}

export interface ApprovalResult {
  grants: Grant[]
}

/** The server holds one call open at most this long; longer waits are several calls. */
const SERVER_MAX_WAIT_MS = 30_000

/**
 * Resolves when every petitioner holds an active grant on every resource. Otherwise finds or
 * creates the one open petition for this request, waits up to `wait.timeoutMs` for a decision, and
 * throws an ApprovalError whose kind is `waiting` or `denied`. Any other failure (network,
 * authentication, validation) throws its own error, never `waiting`.
 */
export async function approval(options: ApprovalOptions): Promise<ApprovalResult> {
  const client = options.client ?? new GatehouseAPI(options.clientOptions)
  const waitMs = Math.max(0, options.wait?.timeoutMs ?? defaultApprovalWaitMs())
  const deadline = Date.now() + waitMs
  for (;;) {
    const remaining = Math.max(0, deadline - Date.now())
    const outcome = await client.approvals.request({
      petitioners: options.petitioners,
      resources: options.resources.map(({ kind, id }) => ({ kind, id })),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      ...(options.duration !== undefined ? { durationSeconds: parseDuration(options.duration) } : {}),
      waitMs: Math.min(remaining, SERVER_MAX_WAIT_MS),
    })
    if (outcome.status === 'granted') return { grants: outcome.grants }
    if (outcome.status === 'denied') throw new ApprovalError('denied', outcome.petition!)
    if (Date.now() >= deadline) throw new ApprovalError('waiting', outcome.petition!)
  }
}

export type ErrorKind = ApprovalErrorKind | 'unauthenticated' | 'forbidden' | 'invalid' | 'not_found' | 'rate_limited' | 'connection' | 'server' | 'unknown'

/** What went wrong, for a `switch` as in the Indent docs: only approval() itself yields `waiting` or `denied`. */
export function getErrorKind(error: unknown): ErrorKind {
  if (error instanceof ApprovalError) return error.kind
  if (error instanceof AuthenticationError) return 'unauthenticated'
  if (error instanceof PermissionDeniedError) return 'forbidden'
  if (error instanceof BadRequestError) return 'invalid'
  if (error instanceof NotFoundError) return 'not_found'
  if (error instanceof RateLimitError) return 'rate_limited'
  if (error instanceof APIConnectionError) return 'connection'
  if (error instanceof GatehouseError) return 'server'
  return 'unknown'
}
