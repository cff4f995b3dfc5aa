import type { AuditEvent } from '@gatehouse/sdk/client'

/** Who did it, in words: a vault read by the console's client names the person it read for. */
export function actorText(event: AuditEvent): string {
  const who = event.actor.display ?? event.actor.id
  const clientUser = (event.meta as { clientUser?: { email?: string } }).clientUser
  if (event.actor.kind === 'vault_client' && clientUser?.email) return `${clientUser.email} (via vault client ${who})`
  return event.actor.kind === 'user' ? who : `${who} (${event.actor.kind.replace('_', ' ')})`
}

/** `datetime-local` input (local time, no zone) → the ISO instant the API wants; '' → undefined. */
export const localToIso = (value: string): string | undefined => (value ? new Date(value).toISOString() : undefined)

/** The event names people filter by most; any other name can be typed. */
export const COMMON_EVENTS = [
  'access/request',
  'access/approve',
  'access/deny',
  'access/grant',
  'access/revoke',
  'access/expire',
  'vault/read',
  'vault/write',
  'vault/refused',
  'auth/sign_in',
  'auth/sign_in_failed',
  'token/create',
  'token/revoke',
]
