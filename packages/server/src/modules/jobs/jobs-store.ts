import type { Queryable } from '../../db/db.js'
import type { BatchResult, ClaimedJob, Job, JobState } from './jobs-types.js'

interface JobRow {
  space_id: string
  id: string
  kind: string
  params: Record<string, unknown>
  state: JobState
  done: number | string
  total: number | string | null
  cursor: string | null
  error: string | null
  lease_owner: string | null
  created_at: Date
  started_at: Date | null
  updated_at: Date
  finished_at: Date | null
}

const COLUMNS = 'space_id, id, kind, params, state, done, total, cursor, error, lease_owner, created_at, started_at, updated_at, finished_at'

const toJob = (row: JobRow): Job => ({
  id: row.id,
  space: row.space_id,
  kind: row.kind,
  params: row.params,
  state: row.state,
  done: Number(row.done),
  total: row.total === null ? null : Number(row.total),
  cursor: row.cursor,
  error: row.error,
  createdAt: row.created_at.toISOString(),
  startedAt: row.started_at?.toISOString() ?? null,
  updatedAt: row.updated_at.toISOString(),
  finishedAt: row.finished_at?.toISOString() ?? null,
})

export function createJobsStore() {
  return {
    /** `notBefore`: kept in lease_until with no owner, so no claim takes the job earlier. */
    async insert(q: Queryable, job: { spaceId: string; id: string; kind: string; params: Record<string, unknown>; total: number | null; now: Date; notBefore?: Date | null }): Promise<Job> {
      const { rows } = await q.query<JobRow>(
        `INSERT INTO vault_jobs (space_id, id, kind, params, total, created_at, updated_at, lease_until) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $6, $7::timestamptz) RETURNING ${COLUMNS}`,
        [job.spaceId, job.id, job.kind, JSON.stringify(job.params), job.total, job.now, job.notBefore ?? null],
      )
      return toJob(rows[0]!)
    },

    async get(q: Queryable, spaceId: string, id: string): Promise<Job | null> {
      const { rows } = await q.query<JobRow>(`SELECT ${COLUMNS} FROM vault_jobs WHERE space_id = $1 AND id = $2`, [spaceId, id])
      return rows[0] ? toJob(rows[0]) : null
    },

    /** The space's queued and running jobs of these kinds (jobs that must not overlap, e.g. a re-encryption and a field conversion). */
    async active(q: Queryable, spaceId: string, kinds: readonly string[]): Promise<Job[]> {
      const { rows } = await q.query<JobRow>(
        `SELECT ${COLUMNS} FROM vault_jobs WHERE space_id = $1 AND state IN ('queued', 'running') AND kind IN (SELECT jsonb_array_elements_text($2::jsonb)) ORDER BY created_at, id`,
        [spaceId, JSON.stringify(kinds)],
      )
      return rows.map(toJob)
    },

    /** Newest first; `before` is the (created_at, id) of the last job of the previous page. */
    async list(q: Queryable, spaceId: string, filter: { state: JobState | null; kind: string | null }, before: { createdAt: string; id: string } | null, limit: number): Promise<Job[]> {
      const { rows } = await q.query<JobRow>(
        `SELECT ${COLUMNS} FROM vault_jobs
         WHERE space_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR kind = $3)
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::text))
         ORDER BY created_at DESC, id DESC LIMIT $6`,
        [spaceId, filter.state, filter.kind, before?.createdAt ?? null, before?.id ?? null, limit],
      )
      return rows.map(toJob)
    },

    /**
     * Takes the oldest job of one of `kinds` that is queued, or running under a lease that has run
     * out (its node died or stopped), for `owner` until `leaseUntil`. SKIP LOCKED: nodes claiming at
     * once take different jobs, and a job whose batch is committing right now is passed over.
     */
    async claim(q: Queryable, claim: { kinds: string[]; owner: string; now: Date; leaseUntil: Date }): Promise<ClaimedJob | null> {
      if (claim.kinds.length === 0) return null
      const { rows } = await q.query<JobRow>(
        `UPDATE vault_jobs j SET state = 'running', lease_owner = $2::text, lease_until = $3::timestamptz, started_at = coalesce(j.started_at, $4::timestamptz), updated_at = $4::timestamptz
         FROM (SELECT space_id, id FROM vault_jobs
               WHERE state IN ('queued', 'running') AND kind = ANY($1::text[]) AND (lease_until IS NULL OR lease_until <= $4::timestamptz)
               ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) due
         WHERE j.space_id = due.space_id AND j.id = due.id
         RETURNING ${COLUMNS.split(', ').map((column) => `j.${column}`).join(', ')}`,
        [claim.kinds, claim.owner, claim.leaseUntil, claim.now],
      )
      return rows[0] ? { ...toJob(rows[0]), leaseOwner: claim.owner } : null
    },

    /**
     * Locks the job for a batch if `owner` still holds it, and returns it as stored (its cursor
     * may be newer than the runner's copy only if someone else ran it: then this returns null).
     */
    async lockHeld(q: Queryable, spaceId: string, id: string, owner: string): Promise<Job | null> {
      const { rows } = await q.query<JobRow>(
        `SELECT ${COLUMNS} FROM vault_jobs WHERE space_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running' FOR UPDATE`,
        [spaceId, id, owner],
      )
      return rows[0] ? toJob(rows[0]) : null
    },

    /** Records a batch (in its transaction) and extends the lease; a null cursor finishes the job. */
    async recordBatch(q: Queryable, spaceId: string, id: string, batch: BatchResult, now: Date, leaseUntil: Date): Promise<void> {
      const finished = batch.cursor === null
      await q.query(
        `UPDATE vault_jobs SET done = done + $3::bigint, cursor = $4::text, total = coalesce($5::bigint, total), attempts = 0, error = NULL, updated_at = $6::timestamptz,
           state = CASE WHEN $7::boolean THEN 'succeeded' ELSE state END, finished_at = CASE WHEN $7::boolean THEN $6::timestamptz ELSE NULL END,
           lease_owner = CASE WHEN $7::boolean THEN NULL ELSE lease_owner END, lease_until = CASE WHEN $7::boolean THEN NULL ELSE $8::timestamptz END
         WHERE space_id = $1 AND id = $2`,
        [spaceId, id, batch.processed, batch.cursor, batch.total ?? null, now, finished, leaseUntil],
      )
    },

    /**
     * A batch failed (rolled back): the error is kept and the lease given up until `retryAt`; after
     * `maxAttempts` failures in a row the job fails. Only while `owner` still holds it.
     */
    async recordFailure(q: Queryable, spaceId: string, id: string, owner: string, failure: { error: string; now: Date; retryAt: Date; maxAttempts: number }): Promise<JobState | null> {
      const { rows } = await q.query<{ state: JobState }>(
        `UPDATE vault_jobs SET attempts = attempts + 1, error = $4::text, updated_at = $5::timestamptz, lease_owner = NULL, lease_until = $6::timestamptz,
           state = CASE WHEN attempts + 1 >= $7::int THEN 'failed' ELSE state END,
           finished_at = CASE WHEN attempts + 1 >= $7::int THEN $5::timestamptz ELSE NULL END
         WHERE space_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'
         RETURNING state`,
        [spaceId, id, owner, failure.error, failure.now, failure.retryAt, failure.maxAttempts],
      )
      return rows[0]?.state ?? null
    },

    /** Gives the lease up at once (a runner stopping cleanly): another node may resume the job now. */
    async release(q: Queryable, spaceId: string, id: string, owner: string): Promise<void> {
      await q.query(`UPDATE vault_jobs SET lease_owner = NULL, lease_until = NULL WHERE space_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running'`, [spaceId, id, owner])
    },

    async cancel(q: Queryable, spaceId: string, id: string, now: Date): Promise<boolean> {
      const { rowCount } = await q.query(
        `UPDATE vault_jobs SET state = 'cancelled', finished_at = $3, updated_at = $3, lease_owner = NULL, lease_until = NULL
         WHERE space_id = $1 AND id = $2 AND state IN ('queued', 'running')`,
        [spaceId, id, now],
      )
      return rowCount === 1
    },
  }
}

export type JobsStore = ReturnType<typeof createJobsStore>
