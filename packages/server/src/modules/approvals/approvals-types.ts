import type { Db, Queryable } from '../../db/db.js'
import type { SqlFragment } from '../../db/sql-fragment.js'
import type { AuditActor } from '../audit/audit-types.js'
import type { ResourceRef } from '../resources/resources-types.js'

/** A person as the application names them: its own id for them, and their email. */
export interface PetitionerInput {
  kind: 'user'
  id: string
  email: string
}

/** A petitioner as stored: `userId` is the Gatehouse user they resolved to, null while known by email alone. */
export interface Petitioner extends PetitionerInput {
  userId: string | null
}

export type PetitionState = 'open' | 'granted' | 'denied' | 'cancelled'

export interface ReviewerSet {
  users?: string[]
  groups?: string[]
}

export type PolicyDecision =
  | { type: 'auto_approve'; durationSeconds: number }
  | { type: 'auto_deny'; reason?: string }
  | { type: 'review'; reviewers?: ReviewerSet; approvalsRequired?: number; allowSelfApproval?: boolean }
  /** Ask the customer's decision endpoint; on timeout or a bad answer, human review by `reviewers`. */
  | { type: 'delegate'; url: string; timeoutMs?: number; reviewers?: ReviewerSet; approvalsRequired?: number; allowSelfApproval?: boolean }

export interface PolicyMatch {
  resourceKinds?: string[]
  /** Every label given must be on every resource of the petition. */
  labels?: Record<string, string>
  /** Every petitioner must be in at least one of these groups. */
  petitionerGroups?: string[]
}

export interface EmergencyRule {
  allowed: boolean
  maxDurationSeconds: number
}

export interface Policy {
  id: string
  name: string
  priority: number
  match: PolicyMatch
  decision: PolicyDecision
  /** Caps every grant under this policy, auto-approved or reviewed. */
  maxDurationSeconds?: number
  emergency?: EmergencyRule
  createdAt: string
  updatedAt: string
}

/** The rule a petition is decided by, copied onto it when it is made. */
export interface PetitionRule {
  policyId: string | null
  policyName: string | null
  decision: PolicyDecision
  maxDurationSeconds: number | null
  emergency: EmergencyRule | null
}

export interface Review {
  reviewerId: string
  reviewerEmail: string
  decision: 'approve' | 'deny'
  durationSeconds: number | null
  comment: string
  createdAt: string
}

export interface Petition {
  id: string
  state: PetitionState
  petitioners: Petitioner[]
  resources: ResourceRef[]
  reason: string
  durationSeconds: number | null
  startsAt: string | null
  emergency: boolean
  extendsGrantId: string | null
  rule: PetitionRule
  reviews: Review[]
  createdBy: AuditActor
  createdAt: string
  decidedAt: string | null
  decidedBy: AuditActor | null
  decisionComment: string | null
}

export interface Grant {
  id: string
  petitionId: string
  /** `id` is the application's id for the person; `userId` the Gatehouse user the grant belongs to (null while known by email alone). */
  petitioner: { id: string; email: string; userId: string | null }
  resource: ResourceRef
  startsAt: string
  expiresAt: string
  emergency: boolean
  revokedAt: string | null
  revokedBy: AuditActor | null
  createdAt: string
}

export interface PetitionInput {
  petitioners: PetitionerInput[]
  resources: ResourceRef[]
  reason?: string
  durationSeconds?: number
  startsAt?: string
  emergency?: boolean
}

/** Why a user's access ended without a reviewer deciding it. */
export type UserAccessEndReason = 'user_deleted' | 'user_deactivated'

export type ApprovalOutcome =
  | { status: 'granted'; grants: Grant[]; petition: Petition | null }
  | { status: 'waiting'; petition: Petition }
  | { status: 'denied'; petition: Petition }

/** Anything that must hear about access events, inside the transaction that causes them (the webhook outbox). */
export interface AccessEventSink {
  enqueue(tx: import('../../db/db.js').Queryable, spaceId: string, event: { type: string; data: Record<string, unknown> }): Promise<void>
  /** Called after a commit that enqueued: deliver now rather than at the next poll. */
  notify(): void
}

/** One person's grants on one kind of resource, at one instant. */
export interface ActiveGrantsQuery {
  spaceId: string
  /** The Gatehouse user id: grants match on it, never on an email. */
  userId: string
  resourceKind: string
  now: Date
}

/**
 * What other modules may ask about grants (the vault's `grants` ACL source). The approvals module
 * owns the SQL: a caller gets either rows or an opaque fragment to embed, never table names.
 */
export interface GrantLookup {
  /** The database the grants live in: a fragment of `activeResourceIds` runs only in a statement there. */
  readonly database: Db
  /**
   * A one-column subquery (`resource_id`) of the resources on which the person holds a grant
   * working at `query.now`, to embed in the caller's own statement: checked in the same query, at
   * the same instant, with no extra round trip. Valid only in a statement on the approvals
   * module's own database.
   */
  activeResourceIds(query: ActiveGrantsQuery): SqlFragment
  /**
   * The grant behind each resource the caller's `resourceIds` yields, at `query.now`, as a subquery
   * to embed in the caller's own statement (a vault find names the grants behind its page in the
   * statement that reads the page: one instant, one round trip). `resourceIds` is the SQL of a
   * one-column subquery of resource ids over the caller's own CTEs, without placeholders. One row
   * per resource that has an active grant, the same grant `grantsCovering` lists first for it:
   * columns `resource_id`, `grant_id`, `petition_id` and `expires_at` (ISO 8601 text, as
   * `Grant.expiresAt`). Valid only in a statement on the approvals module's own database.
   */
  coveringGrants(query: ActiveGrantsQuery, resourceIds: string): SqlFragment
  /** The grants that allow this person these resources at `query.now`: what the vault's audit events name. */
  grantsCovering(db: Queryable, spaceId: string, userId: string, resourceKind: string, resourceIds: string[], now: Date): Promise<Grant[]>
}
