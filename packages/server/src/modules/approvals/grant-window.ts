/** When nobody — petitioner, reviewer or policy — names a duration. */
export const DEFAULT_GRANT_SECONDS = 3600

export interface WindowInput {
  /** The instant of the decision. */
  now: Date
  /** What the petitioner asked for, if anything. */
  requestedStart?: Date | null
  requestedSeconds?: number | null
  /** What the reviewer approved, or the policy's auto-approve duration. */
  decidedSeconds?: number | null
  /** The policy's cap; applies to auto-approvals too. */
  maxSeconds?: number | null
  /** An extension starts where the grant it extends ends. */
  extendsUntil?: Date | null
}

export interface GrantWindow {
  startsAt: Date
  expiresAt: Date
  seconds: number
}

/**
 * The one place a grant's window is computed. The decider's duration wins over the request, the
 * policy's maximum caps both, and the window never starts in the past.
 */
export function grantWindow(input: WindowInput): GrantWindow {
  const wanted = input.decidedSeconds ?? input.requestedSeconds ?? DEFAULT_GRANT_SECONDS
  const seconds = Math.max(1, Math.min(wanted, input.maxSeconds ?? Number.POSITIVE_INFINITY))
  const earliest = input.extendsUntil && input.extendsUntil > input.now ? input.extendsUntil : input.now
  const startsAt = input.requestedStart && input.requestedStart > earliest ? input.requestedStart : earliest
  return { startsAt, expiresAt: new Date(startsAt.getTime() + seconds * 1000), seconds }
}
