import type { Queryable } from '../../db/db.js'
import { newId } from '../../lib/ids.js'
import type { AuditService } from '../audit/audit-service.js'
import type { AuditActor } from '../audit/audit-types.js'
import type { ApprovalsStore } from './approvals-store.js'
import type { AccessEventSink, Grant, Petition, UserAccessEndReason } from './approvals-types.js'
import { grantWindow } from './grant-window.js'

export interface DecisionDeps {
  store: ApprovalsStore
  audit: Pick<AuditService, 'append'>
  events: AccessEventSink
}

const petitionSummary = (petition: Petition) => ({
  id: petition.id,
  petitioners: petition.petitioners,
  resources: petition.resources,
  reason: petition.reason,
  emergency: petition.emergency,
  policy: petition.rule.policyName,
})

const grantSummary = (grant: Grant) => ({
  id: grant.id,
  petitioner: grant.petitioner,
  resource: grant.resource,
  startsAt: grant.startsAt,
  expiresAt: grant.expiresAt,
  emergency: grant.emergency,
})

/**
 * Writes a decision inside the caller's transaction: the petition's new state, its grants, the
 * audit events and the outbox entries all commit together or not at all.
 */
export function createPetitionDecisions({ store, audit, events }: DecisionDeps) {
  async function record(tx: Queryable, spaceId: string, actor: AuditActor, event: string, petition: Petition, meta: Record<string, unknown>) {
    await audit.append(tx, spaceId, { event, actor, resources: petition.resources, meta: { petitionId: petition.id, ...meta } })
  }

  return {
    async requested(tx: Queryable, spaceId: string, petition: Petition) {
      await record(tx, spaceId, petition.createdBy, 'access/request', petition, {
        petitioners: petition.petitioners.map((petitioner) => petitioner.email),
        petitionerUserIds: petition.petitioners.map((petitioner) => petitioner.userId),
        reason: petition.reason,
        emergency: petition.emergency,
        policy: petition.rule.policyName,
        decision: petition.rule.decision.type,
      })
      await events.enqueue(tx, spaceId, { type: 'access/request', data: { petition: petitionSummary(petition) } })
    },

    /**
     * Grants every petitioner every resource for one window. `extendsUntil` starts an extension
     * where the grant it extends ends; `emergencyCapSeconds` caps a break-glass grant.
     */
    async grant(
      tx: Queryable,
      spaceId: string,
      petition: Petition,
      decision: { by: AuditActor; now: Date; decidedSeconds?: number | null; comment?: string | null; extendsUntil?: Date | null; emergencyCapSeconds?: number },
    ): Promise<Grant[]> {
      const caps = [petition.rule.maxDurationSeconds, decision.emergencyCapSeconds].filter((cap): cap is number => typeof cap === 'number')
      const window = grantWindow({
        now: decision.now,
        requestedStart: petition.startsAt ? new Date(petition.startsAt) : null,
        requestedSeconds: petition.durationSeconds,
        decidedSeconds: decision.decidedSeconds ?? null,
        maxSeconds: caps.length ? Math.min(...caps) : null,
        extendsUntil: decision.extendsUntil ?? null,
      })
      const grants = await store.insertGrants(
        tx,
        spaceId,
        petition.petitioners.flatMap((petitioner) =>
          petition.resources.map((resource) => ({
            id: newId('grt'),
            petitionId: petition.id,
            petitionerId: petitioner.id,
            petitionerEmail: petitioner.email,
            petitionerUserId: petitioner.userId,
            resource,
            startsAt: window.startsAt,
            expiresAt: window.expiresAt,
            emergency: petition.emergency,
          })),
        ),
      )
      await store.decidePetition(tx, spaceId, petition.id, 'granted', decision.by, decision.comment ?? null, decision.now)
      await record(tx, spaceId, decision.by, 'access/approve', petition, { comment: decision.comment ?? null, seconds: window.seconds })
      await record(tx, spaceId, decision.by, petition.emergency ? 'access/emergency_grant' : 'access/grant', petition, {
        grants: grants.map((grant) => grant.id),
        startsAt: window.startsAt.toISOString(),
        expiresAt: window.expiresAt.toISOString(),
        emergency: petition.emergency,
      })
      await events.enqueue(tx, spaceId, { type: 'access/approve', data: { petition: petitionSummary(petition), by: decision.by, comment: decision.comment ?? null } })
      await events.enqueue(tx, spaceId, { type: 'access/grant', data: { petition: petitionSummary(petition), grants: grants.map(grantSummary) } })
      return grants
    },

    async deny(tx: Queryable, spaceId: string, petition: Petition, decision: { by: AuditActor; now: Date; comment?: string | null }) {
      await store.decidePetition(tx, spaceId, petition.id, 'denied', decision.by, decision.comment ?? null, decision.now)
      await record(tx, spaceId, decision.by, 'access/deny', petition, { comment: decision.comment ?? null })
      await events.enqueue(tx, spaceId, { type: 'access/deny', data: { petition: petitionSummary(petition), by: decision.by, comment: decision.comment ?? null } })
    },

    /** The decision endpoint failed or asked for people: recorded, and the petition waits for review. */
    async delegateFellBack(tx: Queryable, spaceId: string, petition: Petition, by: AuditActor, why: string) {
      await record(tx, spaceId, by, 'access/delegate_review', petition, { why })
    },

    async cancelled(tx: Queryable, spaceId: string, petition: Petition, by: AuditActor) {
      await record(tx, spaceId, by, 'access/cancel', petition, {})
    },

    async reviewed(tx: Queryable, spaceId: string, petition: Petition, by: AuditActor, review: { decision: string; comment: string; durationSeconds: number | null }) {
      await record(tx, spaceId, by, 'access/review', petition, review)
    },

    /** A grant stopped before its end: by a person (no reason) or because its user was deleted or deactivated. */
    async revoked(tx: Queryable, spaceId: string, grant: Grant, by: AuditActor, reason?: UserAccessEndReason, comment?: string) {
      const because = { ...(reason ? { reason } : {}), ...(comment ? { comment } : {}) }
      await audit.append(tx, spaceId, {
        event: 'access/revoke',
        actor: by,
        resources: [grant.resource, ...(grant.petitioner.userId ? [{ kind: 'user', id: grant.petitioner.userId }] : [])],
        meta: { grantId: grant.id, petitionId: grant.petitionId, petitioner: grant.petitioner.email, petitionerUserId: grant.petitioner.userId, ...because },
      })
      await events.enqueue(tx, spaceId, { type: 'access/revoke', data: { grant: grantSummary(grant), by, ...because } })
    },

    /**
     * An open petition ended because a petitioner's user was deleted or deactivated: cancelled, and
     * announced as `access/revoke` (audit and webhook) with the petition instead of a grant.
     */
    async petitionEnded(tx: Queryable, spaceId: string, petition: Petition, by: AuditActor, reason: UserAccessEndReason, userId: string, now: Date) {
      await store.decidePetition(tx, spaceId, petition.id, 'cancelled', by, reason, now)
      await audit.append(tx, spaceId, {
        event: 'access/revoke',
        actor: by,
        resources: [...petition.resources, { kind: 'user', id: userId }],
        meta: { petitionId: petition.id, petitionerUserId: userId, reason },
      })
      await events.enqueue(tx, spaceId, { type: 'access/revoke', data: { petition: petitionSummary(petition), by, reason } })
    },

    async expired(tx: Queryable, spaceId: string, grant: Grant, by: AuditActor) {
      await audit.append(tx, spaceId, { event: 'access/expire', actor: by, resources: [grant.resource], meta: { grantId: grant.id, petitionId: grant.petitionId, petitioner: grant.petitioner.email } })
      await events.enqueue(tx, spaceId, { type: 'access/expire', data: { grant: grantSummary(grant) } })
    },
  }
}

export type PetitionDecisions = ReturnType<typeof createPetitionDecisions>
