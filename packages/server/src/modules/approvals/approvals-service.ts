import type { Db, Queryable } from '../../db/db.js'
import { AppError, conflict, forbidden, notFound } from '../../http/errors.js'
import { newId } from '../../lib/ids.js'
import { redactUrl, type OutboundClient } from '../../lib/outbound/index.js'
import { sha256Hex } from '../../lib/secrets.js'
import { canonicalJson } from '../audit/audit-chain.js'
import type { AuditActor } from '../audit/audit-types.js'
import type { Principal } from '../auth/auth-types.js'
import type { MembersStore } from '../members/members-store.js'
import type { ResourcesStore } from '../resources/resources-store.js'
import type { ResourceRef } from '../resources/resources-types.js'
import { chooseRule, reviewOutcome, whyCannotReview } from './approvals-policy.js'
import type { ApprovalsStore, GrantFilter, GrantPair, PetitionFilter } from './approvals-store.js'
import type { ApprovalOutcome, Grant, Petition, PetitionerInput, PetitionInput, Petitioner, UserAccessEndReason } from './approvals-types.js'
import type { DecisionWaiter } from './decision-waiter.js'
import { assertMayPetitionFor, coversAll, normalise, ownUserFilter, pairsOf, requestKey, resolvePetitioners, samePeople, samePetitioners } from './petition-requests.js'
import { askDecisionEndpoint } from './delegate-client.js'
import type { PetitionDecisions } from './petition-decisions.js'
import type { PoliciesStore } from './policies-store.js'
import type { MembersDirectory } from '../members/members-directory.js'

export interface ApprovalsServiceDeps {
  db: Db
  store: ApprovalsStore
  policies: Pick<PoliciesStore, 'list'>
  resources: Pick<ResourcesStore, 'getMany'>
  members: Pick<MembersStore, 'findUsersByEmails' | 'lockUsersByEmails' | 'getUser'>
  /** Email → user, cached per process (invalidated on every node when users come or go): approval()'s fast path. */
  directory: Pick<MembersDirectory, 'usersByEmails'>
  decisions: PetitionDecisions
  /** Wakes webhook delivery after a commit that enqueued access events. */
  eventsCommitted: () => void
  waiter: DecisionWaiter
  /**
   * Long-polls re-read their petition at least this often (default 1 s): the fallback for a lost
   * decision hint. Tests make it long, so that only the hint can explain a prompt wake-up.
   */
  recheckMs?: number
  clock: () => Date
  /** How long a denial stands before the same request makes a new petition. */
  denialHoldMs: number
  /** The way out to a policy's decision endpoint. */
  outbound: Pick<OutboundClient, 'send'>
}

const DEFAULT_RECHECK_MS = 1000
const POLICY_ACTOR = (rule: Petition['rule']): AuditActor => ({ kind: 'system', id: rule.policyId ? `policy:${rule.policyId}` : 'policy:default', display: rule.policyName ?? 'default' })

export function createApprovalsService(deps: ApprovalsServiceDeps) {
  const { db, store, decisions, waiter, clock } = deps
  const recheckMs = deps.recheckMs ?? DEFAULT_RECHECK_MS
  /** After a commit that may have decided a petition: wake its long-polls and its webhook deliveries. */
  const committed = (petitionId?: string) => {
    if (petitionId) waiter.notify(petitionId)
    deps.eventsCommitted()
  }

  async function mustGetPetition(spaceId: string, petitionId: string): Promise<Petition> {
    return (await store.getPetition(db, spaceId, petitionId)) ?? Promise.reject(notFound('petition', petitionId))
  }

  async function outcomeOf(spaceId: string, petition: Petition): Promise<ApprovalOutcome> {
    if (petition.state === 'denied') return { status: 'denied', petition }
    if (petition.state === 'granted') {
      const active = await store.activeGrants(db, spaceId, pairsOf(petition), clock())
      if (coversAll(active, pairsOf(petition))) return { status: 'granted', grants: active, petition }
    }
    return { status: 'waiting', petition }
  }

  /** Runs after the petition's own transaction commits: no network call inside a transaction. */
  async function delegate(spaceId: string, petition: Petition): Promise<void> {
    if (petition.rule.decision.type !== 'delegate') return
    const { url, timeoutMs = 5000 } = petition.rule.decision
    const result = await askDecisionEndpoint(deps.outbound, url, timeoutMs, petition)
    const actor: AuditActor = { kind: 'system', id: 'delegate', display: redactUrl(url) }
    await db.transaction(async (tx) => {
      const current = await store.getPetition(tx, spaceId, petition.id, true)
      if (!current || current.state !== 'open') return
      if (!result.ok) {
        // Fail closed: on any doubt the petition waits for people, never for approval.
        return decisions.delegateFellBack(tx, spaceId, current, actor, `decision endpoint failed: ${result.failure}`)
      }
      const { answer } = result
      if (answer.decision === 'approve') {
        await decisions.grant(tx, spaceId, current, { by: actor, now: clock(), decidedSeconds: answer.durationSeconds ?? null, comment: answer.reason ?? null })
      } else if (answer.decision === 'deny') {
        await decisions.deny(tx, spaceId, current, { by: actor, now: clock(), comment: answer.reason ?? null })
      } else {
        await decisions.delegateFellBack(tx, spaceId, current, actor, `decision endpoint asked for human review${answer.reason ? `: ${answer.reason}` : ''}`)
      }
    })
    committed(petition.id)
  }

  async function create(by: Principal, raw: PetitionInput, extendsGrant: Grant | null = null): Promise<Petition> {
    const input = normalise(raw)
    assertMayPetitionFor(by, input.petitioners)
    const found = await deps.resources.getMany(db, by.spaceId, input.resources)
    const missing = input.resources.filter((ref) => !found.some((resource) => resource.kind === ref.kind && resource.id === ref.id))
    if (missing.length) {
      const names = missing.map((ref) => `${ref.kind}:${ref.id}`).join(', ')
      throw new AppError('not_found', `resource ${names} not found: upload resources with resources:bulkUpdate before asking for access to them`)
    }
    const users = await deps.members.findUsersByEmails(db, by.spaceId, input.petitioners.map((petitioner) => petitioner.email))
    const rule = chooseRule(await deps.policies.list(db, by.spaceId), {
      resources: found,
      petitionerGroups: input.petitioners.map((petitioner) => users.find((user) => user.email === petitioner.email)?.groups ?? []),
    })
    if (input.emergency && !input.reason?.trim()) throw new AppError('validation_failed', 'body.reason: break-glass access needs a reason')
    if (input.emergency && !rule.emergency?.allowed) {
      throw forbidden(`break-glass is not allowed for these resources: ${rule.policyName ? `policy '${rule.policyName}' does not allow it` : 'no policy allows it'}`)
    }
    const key = requestKey(input, extendsGrant?.id ?? null)
    const id = newId('pet')
    const now = clock()
    let petitioners: Petitioner[] = []
    const created = await db.transaction(async (tx) => {
      // Resolved and locked in this transaction: a deletion or deactivation of one of these users
      // waits for this petition to commit, then ends it with the rest of their access.
      petitioners = resolvePetitioners(input.petitioners, await deps.members.lockUsersByEmails(tx, by.spaceId, input.petitioners.map((petitioner) => petitioner.email)))
      const inserted = await store.insertOpenPetition(tx, by.spaceId, {
        id,
        requestKey: key,
        petitioners,
        resources: input.resources,
        reason: input.reason ?? '',
        durationSeconds: input.durationSeconds ?? null,
        startsAt: input.startsAt ?? null,
        emergency: input.emergency ?? false,
        extendsGrantId: extendsGrant?.id ?? null,
        rule,
        createdBy: by.actor,
      })
      if (!inserted) return null
      const petition = (await store.getPetition(tx, by.spaceId, id))!
      await decisions.requested(tx, by.spaceId, petition)
      const extendsUntil = extendsGrant ? new Date(extendsGrant.expiresAt) : null
      if (petition.emergency) {
        const cap = rule.emergency!.maxDurationSeconds
        await decisions.grant(tx, by.spaceId, petition, { by: POLICY_ACTOR(rule), now, emergencyCapSeconds: cap, comment: 'break-glass', extendsUntil })
      } else if (rule.decision.type === 'auto_approve') {
        await decisions.grant(tx, by.spaceId, petition, { by: POLICY_ACTOR(rule), now, decidedSeconds: rule.decision.durationSeconds, extendsUntil })
      } else if (rule.decision.type === 'auto_deny') {
        await decisions.deny(tx, by.spaceId, petition, { by: POLICY_ACTOR(rule), now, comment: rule.decision.reason ?? null })
      }
      return petition
    })
    if (!created) {
      // A concurrent call made the open petition for the same request first: that one is ours too —
      // unless it names other users with the same emails, which is never handed over.
      const existing = (await store.latestByKey(db, by.spaceId, key))!
      if (!samePeople(existing, petitioners)) throw conflict(`open petition ${existing.id} for these emails belongs to other users; ask again in a moment`)
      return existing
    }
    committed(id)
    await delegate(by.spaceId, created)
    return mustGetPetition(by.spaceId, id)
  }

  return {
    create,

    /**
     * approval(): granted at once when every (petitioner, resource) pair holds an active grant —
     * "once granted, it will auto-approve next time". Otherwise the one open petition for this
     * request (made now if there is none), waited on for up to `waitMs` for a decision.
     */
    async approval(by: Principal, raw: PetitionInput, waitMs: number): Promise<ApprovalOutcome> {
      const input = normalise(raw)
      assertMayPetitionFor(by, input.petitioners)
      const emails = input.petitioners.map((petitioner) => petitioner.email)
      // The fast path: who holds each email from the directory's cache, then the grants — one statement.
      // The grant lookup is the authority: a user deleted or deactivated lost their grants in that
      // transaction, and a user created took over the email's unbound ones, so a stale directory entry
      // can only miss a grant here, never find one; a miss is answered from the database below.
      const cached = resolvePetitioners(input.petitioners, await deps.directory.usersByEmails(by.spaceId, emails))
      const cachedPairs = pairsOf({ petitioners: cached, resources: input.resources })
      const cachedActive = await store.activeGrants(db, by.spaceId, cachedPairs, clock())
      if (coversAll(cachedActive, cachedPairs)) return { status: 'granted', grants: cachedActive, petition: null }

      const petitioners = resolvePetitioners(input.petitioners, await deps.members.findUsersByEmails(db, by.spaceId, emails))
      if (!samePetitioners(petitioners, cached)) {
        const pairs = pairsOf({ petitioners, resources: input.resources })
        const active = await store.activeGrants(db, by.spaceId, pairs, clock())
        if (coversAll(active, pairs)) return { status: 'granted', grants: active, petition: null }
      }

      const latest = await store.latestByKey(db, by.spaceId, requestKey(input, null))
      const now = clock().getTime()
      // A petition made for other people with the same emails (a deleted user's) never stands for these.
      const stillStands =
        latest &&
        samePeople(latest, petitioners) &&
        (latest.state === 'open' ||
          (latest.state === 'denied' && now - Date.parse(latest.decidedAt!) < deps.denialHoldMs) ||
          (latest.state === 'granted' &&
            (await store.grantsOfPetition(db, by.spaceId, latest.id)).some((grant) => !grant.revokedAt && Date.parse(grant.expiresAt) > now)))
      let outcome = await outcomeOf(by.spaceId, stillStands ? latest : await create(by, input))
      const deadline = Date.now() + waitMs
      while (outcome.status === 'waiting' && Date.now() < deadline) {
        await waiter.wait(outcome.petition.id, Math.min(recheckMs, deadline - Date.now()))
        outcome = await outcomeOf(by.spaceId, await mustGetPetition(by.spaceId, outcome.petition.id))
      }
      return outcome
    },

    /** One reviewer's decision. Any deny denies; the policy's N distinct approvals grant. */
    async review(by: Principal, petitionId: string, input: { decision: 'approve' | 'deny'; durationSeconds?: number; comment?: string }): Promise<Petition> {
      if (by.kind !== 'user') throw forbidden('reviews are made by people: use a user access token, not a service-account token')
      const reviewer = await deps.members.getUser(db, by.spaceId, by.subjectId)
      if (!reviewer) throw forbidden('your user no longer exists')
      await db.transaction(async (tx) => {
        const petition = await store.getPetition(tx, by.spaceId, petitionId, true)
        if (!petition) throw notFound('petition', petitionId)
        if (petition.state !== 'open') throw conflict(`petition ${petitionId} is already ${petition.state}`)
        const why = whyCannotReview(petition.rule, reviewer, petition.petitioners)
        if (why) throw forbidden(why)
        const review = { reviewerId: reviewer.id, reviewerEmail: reviewer.email, decision: input.decision, durationSeconds: input.durationSeconds ?? null, comment: input.comment ?? '' }
        if (!(await store.insertReview(tx, by.spaceId, petitionId, review))) throw conflict(`you already reviewed petition ${petitionId}`)
        await decisions.reviewed(tx, by.spaceId, petition, by.actor, review)
        const reviews = [...petition.reviews, review]
        const outcome = reviewOutcome(petition.rule, reviews)
        const now = clock()
        if (outcome === 'denied') await decisions.deny(tx, by.spaceId, petition, { by: by.actor, now, comment: input.comment ?? null })
        if (outcome === 'granted') {
          // With several approvers, the shortest duration any of them approved wins.
          const durations = reviews.map((entry) => entry.durationSeconds).filter((seconds): seconds is number => seconds !== null)
          const extendsUntil = petition.extendsGrantId ? new Date((await store.getGrant(tx, by.spaceId, petition.extendsGrantId))!.expiresAt) : null
          await decisions.grant(tx, by.spaceId, petition, { by: by.actor, now, decidedSeconds: durations.length ? Math.min(...durations) : null, comment: input.comment ?? null, extendsUntil })
        }
      })
      committed(petitionId)
      return mustGetPetition(by.spaceId, petitionId)
    },

    /** The petitioner (or an application or admin) withdraws an open petition. */
    async cancel(by: Principal, petitionId: string): Promise<Petition> {
      await db.transaction(async (tx) => {
        const petition = await store.getPetition(tx, by.spaceId, petitionId, true)
        const own = ownUserFilter(by)
        if (!petition || (own && !petition.petitioners.some((petitioner) => petitioner.userId === own))) throw notFound('petition', petitionId)
        assertMayPetitionFor(by, petition.petitioners)
        if (petition.state !== 'open') throw conflict(`petition ${petitionId} is already ${petition.state}`)
        await store.decidePetition(tx, by.spaceId, petitionId, 'cancelled', by.actor, null, clock())
        await decisions.cancelled(tx, by.spaceId, petition, by.actor)
      })
      committed(petitionId)
      return mustGetPetition(by.spaceId, petitionId)
    },

    async getPetition(by: Principal, petitionId: string): Promise<Petition> {
      const petition = await mustGetPetition(by.spaceId, petitionId)
      const own = ownUserFilter(by)
      if (own && !petition.petitioners.some((petitioner) => petitioner.userId === own)) throw notFound('petition', petitionId)
      return petition
    },

    async listPetitions(by: Principal, filter: PetitionFilter, cursor: string | null, limit: number) {
      const own = ownUserFilter(by)
      const rows = await store.listPetitions(db, by.spaceId, { ...filter, ...(own ? { petitionerUserId: own } : {}) }, cursor, limit + 1)
      const petitions = rows.slice(0, limit)
      return { petitions, nextCursor: rows.length > limit ? petitions[petitions.length - 1]!.id : null }
    },

    async listGrants(by: Principal, filter: Omit<GrantFilter, 'activeAt'> & { active?: boolean }, cursor: string | null, limit: number) {
      const own = ownUserFilter(by)
      const { active, ...rest } = filter
      const rows = await store.listGrants(db, by.spaceId, { ...rest, ...(own ? { petitionerUserId: own } : {}), ...(active ? { activeAt: clock() } : {}) }, cursor, limit + 1)
      const grants = rows.slice(0, limit)
      return { grants, nextCursor: rows.length > limit ? grants[grants.length - 1]!.id : null }
    },

    async getGrant(by: Principal, grantId: string): Promise<Grant> {
      const grant = await store.getGrant(db, by.spaceId, grantId)
      const own = ownUserFilter(by)
      if (!grant || (own && grant.petitioner.userId !== own)) throw notFound('grant', grantId)
      return grant
    },

    /** Stops a grant at once. Revoking a revoked grant answers with it and records nothing new. */
    /** `comment` is the revoker's own words (the console asks for them); it goes into the audit event and webhook. */
    async revokeGrant(by: Principal, grantId: string, comment?: string): Promise<Grant> {
      const revoked = await db.transaction(async (tx) => {
        const grant = await store.revokeGrant(tx, by.spaceId, grantId, by.actor, clock())
        if (grant) await decisions.revoked(tx, by.spaceId, grant, by.actor, undefined, comment)
        return grant
      })
      committed()
      return revoked ?? (await store.getGrant(db, by.spaceId, grantId)) ?? Promise.reject(notFound('grant', grantId))
    },

    /**
     * A user was deleted or deactivated: inside the caller's transaction (the one that deletes or
     * deactivates them), revoke each of their grants not yet ended and cancel each open petition
     * naming them — each through the manual revoke's path, with its audit event and webhook. The
     * caller calls `committed()` after its commit.
     */
    async endUserAccess(tx: Queryable, spaceId: string, userId: string, by: AuditActor, reason: UserAccessEndReason): Promise<{ grants: number; petitions: number }> {
      const now = clock()
      const grants = await store.unendedGrantsOfUser(tx, spaceId, userId, now)
      for (const grant of grants) {
        const revoked = await store.revokeGrant(tx, spaceId, grant.id, by, now)
        if (revoked) await decisions.revoked(tx, spaceId, revoked, by, reason)
      }
      const petitions = await store.openPetitionsOfUser(tx, spaceId, userId)
      for (const petition of petitions) await decisions.petitionEnded(tx, spaceId, petition, by, reason, userId, now)
      return { grants: grants.length, petitions: petitions.length }
    },

    /** A user was created with this email: what asked for the email with no user becomes theirs (inside the caller's transaction). */
    bindNewUser: (tx: Queryable, spaceId: string, userId: string, email: string) => store.bindEmailToUser(tx, spaceId, email, userId),

    /** After a commit that ran `endUserAccess`: wake webhook delivery (long-polls see the ended petitions at their next check). */
    committed: () => committed(),

    /** Asks to extend an active grant before it ends: a petition whose grant starts where this one ends. */
    async extendGrant(by: Principal, grantId: string, input: { durationSeconds?: number; reason?: string }): Promise<Petition> {
      const grant = await this.getGrant(by, grantId)
      if (grant.revokedAt || Date.parse(grant.expiresAt) <= clock().getTime()) {
        throw conflict(`grant ${grantId} is no longer active: ask for access again instead of extending it`)
      }
      return create(by, { petitioners: [{ kind: 'user', id: grant.petitioner.id, email: grant.petitioner.email }], resources: [grant.resource], reason: input.reason, durationSeconds: input.durationSeconds }, grant)
    },

    /**
     * Announces grants that have expired (audit event and webhook). Correctness never waits for
     * this — expiry is checked at read time — it only tells people. Returns how many it announced.
     * One transaction per space: a transaction locks only its own space's audit head, so two nodes
     * announcing at once cannot deadlock on two heads, and one space's failure rolls back only that
     * space's announcements (they are retried next time); the first failure is rethrown at the end.
     */
    async announceExpiries(limit = 100): Promise<number> {
      const now = clock()
      let announced = 0
      let failure: unknown = null
      for (const spaceId of await store.spacesWithUnannouncedExpiries(db, now, limit)) {
        try {
          announced += await db.transaction(async (tx) => {
            const expired = await store.claimExpired(tx, spaceId, now, limit)
            for (const grant of expired) await decisions.expired(tx, spaceId, grant, { kind: 'system', id: 'gatehouse' })
            return expired.length
          })
        } catch (error) {
          failure ??= error
        }
      }
      if (announced > 0) committed()
      if (failure) throw failure
      return announced
    },
  }
}

export type ApprovalsService = ReturnType<typeof createApprovalsService>
