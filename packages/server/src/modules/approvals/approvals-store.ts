import type { Queryable } from '../../db/db.js'
import type { AuditActor } from '../audit/audit-types.js'
import type { ResourceRef } from '../resources/resources-types.js'
import { activeGrantResourceIds, coveringGrantsOf } from './grant-fragments.js'
import type { Grant, Petition, Petitioner, PetitionRule, PetitionState, Review } from './approvals-types.js'

interface PetitionRow {
  id: string
  state: PetitionState
  petitioners: Petitioner[]
  resources: ResourceRef[]
  reason: string
  duration_seconds: number | null
  starts_at: Date | null
  emergency: boolean
  extends_grant_id: string | null
  rule: PetitionRule
  reviews: Review[] | null
  created_by: AuditActor
  created_at: Date
  decided_at: Date | null
  decided_by: AuditActor | null
  decision_comment: string | null
}

const PETITION_SELECT = `SELECT p.id, p.state, p.petitioners, p.resources, p.reason, p.duration_seconds, p.starts_at, p.emergency,
  p.extends_grant_id, p.rule, p.created_by, p.created_at, p.decided_at, p.decided_by, p.decision_comment,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('reviewerId', r.reviewer_id, 'reviewerEmail', r.reviewer_email, 'decision', r.decision,
      'durationSeconds', r.duration_seconds, 'comment', r.comment, 'createdAt', r.created_at) ORDER BY r.created_at), '[]'::jsonb)
    FROM petition_reviews r WHERE r.space_id = p.space_id AND r.petition_id = p.id) AS reviews
  FROM petitions p`

const iso = (date: Date | null) => date?.toISOString() ?? null

const toPetition = (row: PetitionRow): Petition => ({
  id: row.id,
  state: row.state,
  petitioners: row.petitioners,
  resources: row.resources,
  reason: row.reason,
  durationSeconds: row.duration_seconds,
  startsAt: iso(row.starts_at),
  emergency: row.emergency,
  extendsGrantId: row.extends_grant_id,
  rule: row.rule,
  // jsonb_build_object renders timestamps in the database's format: normalise to ISO.
  reviews: (row.reviews ?? []).map((review) => ({ ...review, createdAt: new Date(review.createdAt).toISOString() })),
  createdBy: row.created_by,
  createdAt: row.created_at.toISOString(),
  decidedAt: iso(row.decided_at),
  decidedBy: row.decided_by,
  decisionComment: row.decision_comment,
})

interface GrantRow {
  id: string
  petition_id: string
  petitioner_id: string
  petitioner_email: string
  petitioner_user_id: string | null
  resource_kind: string
  resource_id: string
  starts_at: Date
  expires_at: Date
  emergency: boolean
  revoked_at: Date | null
  revoked_by: AuditActor | null
  created_at: Date
}

const GRANT_COLUMNS =
  'id, petition_id, petitioner_id, petitioner_email, petitioner_user_id, resource_kind, resource_id, starts_at, expires_at, emergency, revoked_at, revoked_by, created_at'

const toGrant = (row: GrantRow): Grant => ({
  id: row.id,
  petitionId: row.petition_id,
  petitioner: { id: row.petitioner_id, email: row.petitioner_email, userId: row.petitioner_user_id },
  resource: { kind: row.resource_kind, id: row.resource_id },
  startsAt: row.starts_at.toISOString(),
  expiresAt: row.expires_at.toISOString(),
  emergency: row.emergency,
  revokedAt: iso(row.revoked_at),
  revokedBy: row.revoked_by,
  createdAt: row.created_at.toISOString(),
})

/** A petition as first stored: its request's fields, the rule it falls under, and its request key. */
export type NewPetitionRow = Pick<
  Petition,
  'id' | 'petitioners' | 'resources' | 'reason' | 'durationSeconds' | 'startsAt' | 'emergency' | 'extendsGrantId' | 'rule' | 'createdBy'
> & { requestKey: string }

export interface NewGrantRow {
  id: string
  petitionId: string
  petitionerId: string
  petitionerEmail: string
  petitionerUserId: string | null
  resource: ResourceRef
  startsAt: Date
  expiresAt: Date
  emergency: boolean
}

export interface PetitionFilter {
  state?: PetitionState
  petitionerEmail?: string
  petitionerUserId?: string
}

export interface GrantFilter {
  petitionerEmail?: string
  petitionerUserId?: string
  resourceKind?: string
  resourceId?: string
  /** Only grants that work at `now`. */
  activeAt?: Date
}

/** A (person, resource) pair: the person is a user id when they resolved to a user, else their email alone. */
export interface GrantPair {
  userId: string | null
  email: string
  resource: ResourceRef
}

export function createApprovalsStore() {
  async function getPetition(db: Queryable, spaceId: string, petitionId: string, lock = false): Promise<Petition | null> {
    if (lock) await db.query('SELECT 1 FROM petitions WHERE space_id = $1 AND id = $2 FOR UPDATE', [spaceId, petitionId])
    const { rows } = await db.query<PetitionRow>(`${PETITION_SELECT} WHERE p.space_id = $1 AND p.id = $2`, [spaceId, petitionId])
    return rows[0] ? toPetition(rows[0]) : null
  }

  return {
    getPetition,
    activeResourceIds: activeGrantResourceIds,
    coveringGrants: coveringGrantsOf,

    /** Null when an open petition with this key already exists (a concurrent caller made it). */
    async insertOpenPetition(tx: Queryable, spaceId: string, petition: NewPetitionRow): Promise<boolean> {
      const { rowCount } = await tx.query(
        `INSERT INTO petitions (space_id, id, request_key, state, petitioners, resources, reason, duration_seconds, starts_at, emergency,
           extends_grant_id, policy_id, rule, created_by)
         VALUES ($1, $2, $3, 'open', $4::jsonb, $5::jsonb, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb)
         ON CONFLICT (space_id, request_key) WHERE state = 'open' DO NOTHING`,
        [
          spaceId,
          petition.id,
          petition.requestKey,
          JSON.stringify(petition.petitioners),
          JSON.stringify(petition.resources),
          petition.reason,
          petition.durationSeconds,
          petition.startsAt,
          petition.emergency,
          petition.extendsGrantId,
          petition.rule.policyId,
          JSON.stringify(petition.rule),
          JSON.stringify(petition.createdBy),
        ],
      )
      return rowCount > 0
    },

    /** The newest petition for this key, whatever its state. */
    async latestByKey(db: Queryable, spaceId: string, requestKey: string): Promise<Petition | null> {
      const { rows } = await db.query<PetitionRow>(
        `${PETITION_SELECT} WHERE p.space_id = $1 AND p.request_key = $2 ORDER BY (p.state = 'open') DESC, p.created_at DESC, p.id DESC LIMIT 1`,
        [spaceId, requestKey],
      )
      return rows[0] ? toPetition(rows[0]) : null
    },

    async listPetitions(db: Queryable, spaceId: string, filter: PetitionFilter, after: string | null, limit: number): Promise<Petition[]> {
      const { rows } = await db.query<PetitionRow>(
        `${PETITION_SELECT} WHERE p.space_id = $1
           AND ($2::text IS NULL OR p.state = $2)
           AND ($3::text IS NULL OR p.petitioners @> jsonb_build_array(jsonb_build_object('email', $3::text)))
           AND ($6::text IS NULL OR p.petitioners @> jsonb_build_array(jsonb_build_object('userId', $6::text)))
           AND ($4::text IS NULL OR p.id < $4)
         ORDER BY p.id DESC LIMIT $5`,
        [spaceId, filter.state ?? null, filter.petitionerEmail ?? null, after, limit, filter.petitionerUserId ?? null],
      )
      return rows.map(toPetition)
    },

    async decidePetition(tx: Queryable, spaceId: string, petitionId: string, state: PetitionState, by: AuditActor, comment: string | null, at: Date) {
      await tx.query(
        `UPDATE petitions SET state = $3, decided_by = $4::jsonb, decision_comment = $5, decided_at = $6 WHERE space_id = $1 AND id = $2`,
        [spaceId, petitionId, state, JSON.stringify(by), comment, at],
      )
    },

    /** False when this reviewer already reviewed the petition. */
    async insertReview(
      tx: Queryable,
      spaceId: string,
      petitionId: string,
      review: { reviewerId: string; reviewerEmail: string; decision: 'approve' | 'deny'; durationSeconds: number | null; comment: string },
    ): Promise<boolean> {
      const { rowCount } = await tx.query(
        `INSERT INTO petition_reviews (space_id, petition_id, reviewer_id, reviewer_email, decision, duration_seconds, comment)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        [spaceId, petitionId, review.reviewerId, review.reviewerEmail, review.decision, review.durationSeconds, review.comment],
      )
      return rowCount > 0
    },

    async insertGrants(tx: Queryable, spaceId: string, grants: NewGrantRow[]): Promise<Grant[]> {
      const { rows } = await tx.query<GrantRow>(
        `INSERT INTO grants (space_id, id, petition_id, petitioner_id, petitioner_email, petitioner_user_id, resource_kind, resource_id, starts_at, expires_at, emergency)
         SELECT $1, g.id, g.petition_id, g.petitioner_id, g.petitioner_email, g.petitioner_user_id, g.resource_kind, g.resource_id, g.starts_at, g.expires_at, g.emergency
         FROM jsonb_to_recordset($2::jsonb) AS g(id text, petition_id text, petitioner_id text, petitioner_email text, petitioner_user_id text, resource_kind text,
           resource_id text, starts_at timestamptz, expires_at timestamptz, emergency boolean)
         RETURNING ${GRANT_COLUMNS}`,
        [
          spaceId,
          JSON.stringify(
            grants.map((grant) => ({
              id: grant.id,
              petition_id: grant.petitionId,
              petitioner_id: grant.petitionerId,
              petitioner_email: grant.petitionerEmail,
              petitioner_user_id: grant.petitionerUserId,
              resource_kind: grant.resource.kind,
              resource_id: grant.resource.id,
              starts_at: grant.startsAt.toISOString(),
              expires_at: grant.expiresAt.toISOString(),
              emergency: grant.emergency,
            })),
          ),
        ],
      )
      return rows.map(toGrant)
    },

    /**
     * Grants that work at `now` for any of these pairs: a resolved person by user id, a person known
     * by email alone only by grants that are not bound to any user. Two indexed lookups.
     */
    async activeGrants(db: Queryable, spaceId: string, pairs: GrantPair[], now: Date): Promise<Grant[]> {
      const wire = (pair: GrantPair) => ({ key: pair.userId ?? pair.email, kind: pair.resource.kind, id: pair.resource.id })
      const { rows } = await db.query<GrantRow>(
        `SELECT ${GRANT_COLUMNS} FROM grants g
         WHERE g.space_id = $1 AND g.revoked_at IS NULL AND g.starts_at <= $4 AND g.expires_at > $4
           AND (g.petitioner_user_id, g.resource_kind, g.resource_id) IN
             (SELECT x.key, x.kind, x.id FROM jsonb_to_recordset($2::jsonb) AS x(key text, kind text, id text))
         UNION ALL
         SELECT ${GRANT_COLUMNS} FROM grants g
         WHERE g.space_id = $1 AND g.revoked_at IS NULL AND g.starts_at <= $4 AND g.expires_at > $4 AND g.petitioner_user_id IS NULL
           AND (g.petitioner_email, g.resource_kind, g.resource_id) IN
             (SELECT x.key, x.kind, x.id FROM jsonb_to_recordset($3::jsonb) AS x(key text, kind text, id text))`,
        [
          spaceId,
          JSON.stringify(pairs.filter((pair) => pair.userId !== null).map(wire)),
          JSON.stringify(pairs.filter((pair) => pair.userId === null).map(wire)),
          now,
        ],
      )
      return rows.map(toGrant)
    },

    /** The grants that allow this user these resources at `now`: what the vault's audit events name. */
    async grantsCovering(db: Queryable, spaceId: string, userId: string, resourceKind: string, resourceIds: string[], now: Date): Promise<Grant[]> {
      if (resourceIds.length === 0) return []
      const { rows } = await db.query<GrantRow>(
        `SELECT ${GRANT_COLUMNS} FROM grants WHERE space_id = $1 AND petitioner_user_id = $2 AND resource_kind = $3
           AND resource_id IN (SELECT jsonb_array_elements_text($4::jsonb)) AND revoked_at IS NULL AND starts_at <= $5 AND expires_at > $5
         ORDER BY resource_id, expires_at DESC, id`,
        [spaceId, userId, resourceKind, JSON.stringify(resourceIds), now],
      )
      return rows.map(toGrant)
    },

    /** A user's grants that have not been revoked and have not ended by `now` (including ones that start later), locked. */
    async unendedGrantsOfUser(tx: Queryable, spaceId: string, userId: string, now: Date): Promise<Grant[]> {
      const { rows } = await tx.query<GrantRow>(
        `SELECT ${GRANT_COLUMNS} FROM grants WHERE space_id = $1 AND petitioner_user_id = $2 AND revoked_at IS NULL AND expires_at > $3
         ORDER BY id FOR UPDATE`,
        [spaceId, userId, now],
      )
      return rows.map(toGrant)
    },

    /** The open petitions naming this user among their petitioners, locked. */
    async openPetitionsOfUser(tx: Queryable, spaceId: string, userId: string): Promise<Petition[]> {
      const { rows } = await tx.query<{ id: string }>(
        `SELECT id FROM petitions WHERE space_id = $1 AND state = 'open' AND petitioners @> jsonb_build_array(jsonb_build_object('userId', $2::text))
         ORDER BY id FOR UPDATE`,
        [spaceId, userId],
      )
      const petitions: Petition[] = []
      for (const row of rows) petitions.push((await getPetition(tx, spaceId, row.id))!)
      return petitions
    },

    /**
     * A user now exists for this email: petitions and unrevoked grants that named the email with no
     * user become theirs. Anything already bound to a user (a deleted one included) stays as it is.
     */
    async bindEmailToUser(tx: Queryable, spaceId: string, email: string, userId: string): Promise<{ petitions: number; grants: number }> {
      const petitions = await tx.query(
        `UPDATE petitions p SET petitioners = (
           SELECT jsonb_agg(CASE WHEN x.petitioner ->> 'email' = $2 AND jsonb_typeof(x.petitioner -> 'userId') IS DISTINCT FROM 'string'
             THEN x.petitioner || jsonb_build_object('userId', $3::text) ELSE x.petitioner END ORDER BY x.n)
           FROM jsonb_array_elements(p.petitioners) WITH ORDINALITY AS x(petitioner, n))
         WHERE p.space_id = $1 AND p.petitioners @> jsonb_build_array(jsonb_build_object('email', $2::text, 'userId', null))`,
        [spaceId, email, userId],
      )
      const grants = await tx.query(
        'UPDATE grants SET petitioner_user_id = $3 WHERE space_id = $1 AND petitioner_email = $2 AND petitioner_user_id IS NULL AND revoked_at IS NULL',
        [spaceId, email, userId],
      )
      return { petitions: petitions.rowCount, grants: grants.rowCount }
    },

    async grantsOfPetition(db: Queryable, spaceId: string, petitionId: string): Promise<Grant[]> {
      const { rows } = await db.query<GrantRow>(`SELECT ${GRANT_COLUMNS} FROM grants WHERE space_id = $1 AND petition_id = $2 ORDER BY id`, [
        spaceId,
        petitionId,
      ])
      return rows.map(toGrant)
    },

    async getGrant(db: Queryable, spaceId: string, grantId: string): Promise<Grant | null> {
      const { rows } = await db.query<GrantRow>(`SELECT ${GRANT_COLUMNS} FROM grants WHERE space_id = $1 AND id = $2`, [spaceId, grantId])
      return rows[0] ? toGrant(rows[0]) : null
    },

    async listGrants(db: Queryable, spaceId: string, filter: GrantFilter, after: string | null, limit: number): Promise<Grant[]> {
      const { rows } = await db.query<GrantRow>(
        `SELECT ${GRANT_COLUMNS} FROM grants WHERE space_id = $1
           AND ($2::text IS NULL OR petitioner_email = $2)
           AND ($8::text IS NULL OR petitioner_user_id = $8)
           AND ($3::text IS NULL OR resource_kind = $3)
           AND ($4::text IS NULL OR resource_id = $4)
           AND ($5::timestamptz IS NULL OR (revoked_at IS NULL AND starts_at <= $5 AND expires_at > $5))
           AND ($6::text IS NULL OR id < $6)
         ORDER BY id DESC LIMIT $7`,
        [spaceId, filter.petitionerEmail ?? null, filter.resourceKind ?? null, filter.resourceId ?? null, filter.activeAt ?? null, after, limit, filter.petitionerUserId ?? null],
      )
      return rows.map(toGrant)
    },

    /** Null when there is no such grant or it was already revoked. */
    async revokeGrant(tx: Queryable, spaceId: string, grantId: string, by: AuditActor, at: Date): Promise<Grant | null> {
      const { rows } = await tx.query<GrantRow>(
        `UPDATE grants SET revoked_at = $3, revoked_by = $4::jsonb WHERE space_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING ${GRANT_COLUMNS}`,
        [spaceId, grantId, at, JSON.stringify(by)],
      )
      return rows[0] ? toGrant(rows[0]) : null
    },

    /** Spaces that have grants expired without being announced (a hint: claiming decides). */
    async spacesWithUnannouncedExpiries(db: Queryable, now: Date, limit: number): Promise<string[]> {
      const { rows } = await db.query<{ space_id: string }>(
        `SELECT DISTINCT space_id FROM grants WHERE expiry_announced_at IS NULL AND revoked_at IS NULL AND expires_at <= $1 LIMIT $2`,
        [now, limit],
      )
      return rows.map((row) => row.space_id)
    },

    /**
     * One space's grants that expired without being announced, claimed so that one process
     * announces each (another process skips the rows this one has locked).
     */
    async claimExpired(tx: Queryable, spaceId: string, now: Date, limit: number): Promise<Grant[]> {
      const { rows } = await tx.query<GrantRow>(
        `UPDATE grants SET expiry_announced_at = $2 WHERE space_id = $1 AND id IN (
           SELECT id FROM grants WHERE space_id = $1 AND expiry_announced_at IS NULL AND revoked_at IS NULL AND expires_at <= $2
           ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING ${GRANT_COLUMNS}`,
        [spaceId, now, limit],
      )
      return rows.map(toGrant)
    },
  }
}

export type ApprovalsStore = ReturnType<typeof createApprovalsStore>
