import type { Queryable } from '../../db/db.js'

/**
 * The change-feed topic a commit that queued a job touches and announces: every node's runner
 * looks for work when it hears it (this node's at once, the others through NOTIFY or the feed's
 * poll of the version table), instead of at its next poll.
 */
export const JOBS_QUEUED = 'jobs:queued'

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled']

/** A background job of a space (re-encryption, re-indexing…), as the API shows it. */
export interface Job {
  id: string
  space: string
  kind: string
  params: Record<string, unknown>
  state: JobState
  /** Units done so far (records, for re-encryption); `total` when known. */
  done: number
  total: number | null
  /** Where the next batch starts: the handler's own text (e.g. the last primary key done). */
  cursor: string | null
  error: string | null
  createdAt: string
  startedAt: string | null
  updatedAt: string
  finishedAt: string | null
}

/** The job as a runner holds it while running it. */
export interface ClaimedJob extends Job {
  leaseOwner: string
}

/** What one batch did: how many units, and where the next starts (null: the job is finished). */
export interface BatchResult {
  processed: number
  cursor: string | null
  /** The total, when the handler learns it (e.g. by counting on its first batch). */
  total?: number
  /** Runs once the batch has committed (e.g. announcing a change-feed topic the batch touched). */
  afterCommit?: () => void
}

/**
 * Runs one batch of a job inside `q`, the transaction that also records the job's progress: the
 * batch's writes and the new cursor commit together or not at all, so a batch is never done twice
 * nor skipped, whichever node runs it.
 */
export type JobHandler = (job: Job, q: Queryable) => Promise<BatchResult>

export interface NewJob {
  kind: string
  params?: Record<string, unknown>
  total?: number | null
  /** No runner claims the job before this many milliseconds have passed (e.g. until every node has seen the change that queued it). */
  delayMs?: number
}
