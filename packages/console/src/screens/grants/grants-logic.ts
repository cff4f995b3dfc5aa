import type { Grant } from '@gatehouse/sdk/client'

export type GrantState = 'active' | 'scheduled' | 'revoked' | 'expired'

export function grantState(grant: Grant, now: Date): GrantState {
  if (grant.revokedAt) return 'revoked'
  if (Date.parse(grant.expiresAt) <= now.getTime()) return 'expired'
  if (Date.parse(grant.startsAt) > now.getTime()) return 'scheduled'
  return 'active'
}

/** The expiry filter: grants ending within `hours` from now (null: any). */
export const endsWithin = (grant: Grant, hours: number | null, now: Date) =>
  hours === null || Date.parse(grant.expiresAt) - now.getTime() <= hours * 3600_000
