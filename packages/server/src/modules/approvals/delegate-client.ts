import { OutboundFailure, type OutboundClient } from '../../lib/outbound/index.js'
import type { Petition } from './approvals-types.js'

export type DelegateAnswer =
  | { decision: 'approve'; durationSeconds?: number; reason?: string }
  | { decision: 'deny'; reason?: string }
  | { decision: 'review'; reason?: string }

export type DelegateResult = { ok: true; answer: DelegateAnswer } | { ok: false; failure: string }

const MAX_DURATION = 10 * 365 * 24 * 3600

/** Only an answer of exactly this shape counts; anything else means human review, never approval. */
function readAnswer(body: unknown): DelegateAnswer | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null
  const { decision, durationSeconds, reason } = body as Record<string, unknown>
  if (reason !== undefined && typeof reason !== 'string') return null
  const why = reason === undefined ? {} : { reason: reason.slice(0, 2000) }
  if (decision === 'deny' || decision === 'review') return { decision, ...why }
  if (decision !== 'approve') return null
  if (durationSeconds === undefined) return { decision, ...why }
  if (typeof durationSeconds !== 'number' || !Number.isInteger(durationSeconds) || durationSeconds < 1 || durationSeconds > MAX_DURATION) return null
  return { decision, durationSeconds, ...why }
}

/** An answer is a small JSON object; anything larger is cut off unread and counts as a failure. */
export const MAX_DELEGATE_ANSWER_BYTES = 64 * 1024

/**
 * Asks the customer's decision endpoint about a petition, like Indent's decision webhook:
 * POST `{ petition }`, answer `{ decision: 'approve' | 'deny' | 'review', durationSeconds?, reason? }`.
 * Never throws: a timeout, a refused connection, a non-2xx status or a bad body is a failure. The
 * failure text lands in the petition's comment, which people read: it never says why a connection
 * failed (that would let a policy author scan ports); the server log has the cause.
 */
export async function askDecisionEndpoint(outbound: Pick<OutboundClient, 'send'>, url: string, timeoutMs: number, petition: Petition): Promise<DelegateResult> {
  let response
  try {
    response = await outbound.send({
      purpose: 'delegate',
      url,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ petition }),
      timeoutMs,
      maxBytes: MAX_DELEGATE_ANSWER_BYTES,
    })
  } catch (error) {
    const kind = error instanceof OutboundFailure ? error.kind : 'unreachable'
    if (kind === 'timeout') return { ok: false, failure: `no answer within ${timeoutMs} ms` }
    if (kind === 'too_large') return { ok: false, failure: `its answer is larger than ${MAX_DELEGATE_ANSWER_BYTES} bytes` }
    return { ok: false, failure: 'it could not be reached' }
  }
  // Redirects are not followed: a 3xx is a failure like any other non-2xx.
  if (response.status < 200 || response.status > 299) return { ok: false, failure: `it answered HTTP ${response.status}` }
  let body: unknown
  try {
    body = JSON.parse(response.body.toString('utf8'))
  } catch {
    return { ok: false, failure: 'its answer is not JSON' }
  }
  const answer = readAnswer(body)
  return answer ? { ok: true, answer } : { ok: false, failure: 'its answer is not { decision: "approve" | "deny" | "review", durationSeconds?, reason? }' }
}
