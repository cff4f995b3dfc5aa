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

/**
 * Asks the customer's decision endpoint about a petition, like Indent's decision webhook:
 * POST `{ petition }`, answer `{ decision: 'approve' | 'deny' | 'review', durationSeconds?, reason? }`.
 * Never throws: a timeout, a refused connection, a non-2xx status or a bad body is a failure.
 */
export async function askDecisionEndpoint(url: string, timeoutMs: number, petition: Petition): Promise<DelegateResult> {
  let response: Response
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ petition }),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    })
  } catch (error) {
    const name = (error as Error).name
    return { ok: false, failure: name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `could not reach it: ${(error as Error).message}` }
  }
  if (!response.ok) return { ok: false, failure: `it answered HTTP ${response.status}` }
  let body: unknown
  try {
    body = await response.json()
  } catch {
    return { ok: false, failure: 'its answer is not JSON' }
  }
  const answer = readAnswer(body)
  return answer ? { ok: true, answer } : { ok: false, failure: 'its answer is not { decision: "approve" | "deny" | "review", durationSeconds?, reason? }' }
}
