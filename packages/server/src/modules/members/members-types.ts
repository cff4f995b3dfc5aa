import type { Queryable } from '../../db/db.js'
import type { AuditActor } from '../audit/audit-types.js'
import type { Role } from '../auth/auth-types.js'

export interface User {
  id: string
  email: string
  name: string
  role: Role
  hasPassword: boolean
  groups: string[]
  /** When the user was deactivated; null while active. */
  disabledAt: string | null
  createdAt: string
  updatedAt: string
}

export interface Group {
  id: string
  name: string
  description: string
  members: string[]
  createdAt: string
}

export interface ServiceAccount {
  id: string
  name: string
  description: string
  role: Role
  createdAt: string
}

export interface NewUser {
  email: string
  name: string
  role: Role
  password?: string
}

export interface UserChanges {
  name?: string
  role?: Role
  password?: string
}

/**
 * What the access module does when a user comes or goes, inside the members transaction that
 * creates, deletes or deactivates them (wired in app.ts: members cannot import approvals).
 */
export interface UserAccessHooks {
  /** A user now exists for this email: petitions and grants that named the email with no user become theirs. */
  bindNewUser(tx: Queryable, spaceId: string, userId: string, email: string): Promise<unknown>
  /** Revoke the user's grants and cancel their open petitions, each audited and announced. */
  endUserAccess(tx: Queryable, spaceId: string, userId: string, by: AuditActor, reason: 'user_deleted' | 'user_deactivated'): Promise<unknown>
  /** After the commit: deliver the webhooks the transaction enqueued. */
  committed(): void
}
