import type { AuditActor } from '../audit/audit-types.js'

/**
 * The change-feed topic of everything a bearer token authenticates as: a token revoked, a user's role
 * changed, a user deactivated or deleted, a service account deleted. Touched in the change's
 * transaction, announced after it; every node's token cache empties on it.
 */
export const AUTH_TOPIC = 'auth:tokens'

export type Role = 'admin' | 'reviewer' | 'member'

const ROLE_RANK: Record<Role, number> = { member: 1, reviewer: 2, admin: 3 }
export const roleAtLeast = (held: Role, needed: Role): boolean => ROLE_RANK[held] >= ROLE_RANK[needed]

/**
 * The closed set of scopes a service-account token may carry. `*` stands for every scope but
 * `instance:admin`, which must be named: creating spaces is never granted by accident.
 */
export const SCOPES = [
  'instance:admin',
  'space:read',
  'space:admin',
  'audit:read',
  'resources:read',
  'resources:write',
  'access:request',
  'access:read',
  'access:review',
  'access:admin',
  'vault:admin',
] as const
export type Scope = (typeof SCOPES)[number]
export type TokenScope = Scope | '*'

export const hasScope = (held: readonly TokenScope[], needed: Scope): boolean =>
  held.includes(needed) || (needed !== 'instance:admin' && held.includes('*'))

export type TokenKind = 'user' | 'service_account'

/** The authenticated caller of one request. */
export interface Principal {
  spaceId: string
  kind: TokenKind
  /** The user's or the service account's id. */
  subjectId: string
  /** The user a user token acts as; null for a service account. Identity is read from here, never from `actor.display`. */
  userId: string | null
  /** That user's email (lower case); null for a service account. */
  email: string | null
  tokenId: string
  role: Role
  scopes: TokenScope[]
  actor: AuditActor
}

export interface TokenInfo {
  id: string
  kind: TokenKind
  name: string
  prefix: string
  subjectId: string
  scopes: TokenScope[]
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
  createdBy: AuditActor
}

/** A token as returned once, at creation: the only time the secret is shown. */
export interface IssuedToken extends TokenInfo {
  token: string
}
