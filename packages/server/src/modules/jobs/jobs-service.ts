import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db, Queryable } from '../../db/db.js'
import { notFound } from '../../http/errors.js'
import { decodeCursor, encodeCursor } from '../../lib/cursor.js'
import { newId } from '../../lib/ids.js'
import type { JobsStore } from './jobs-store.js'
import { JOBS_QUEUED, type Job, type JobState, type NewJob } from './jobs-types.js'

export function createJobsService({ db, store, clock, changes }: { db: Db; store: JobsStore; clock: () => Date; changes: Pick<ChangeFeed, 'touch' | 'announce'> }) {
  return {
    /**
     * Queues a job inside the caller's transaction (with the change that needs it, and its audit
     * event): a rolled-back change leaves no job. It touches `JOBS_QUEUED` in that transaction;
     * call `queued()` after the commit so that the runners of every node look for it at once. A
     * runner woken before the commit would find nothing and sleep its whole poll interval.
     */
    async create(q: Queryable, spaceId: string, job: NewJob): Promise<Job> {
      const now = clock()
      const notBefore = job.delayMs ? new Date(now.getTime() + job.delayMs) : null
      const inserted = await store.insert(q, { spaceId, id: newId('job'), kind: job.kind, params: job.params ?? {}, total: job.total ?? null, now, notBefore })
      await changes.touch(q, JOBS_QUEUED)
      return inserted
    },

    /** After the commit that created jobs: wakes the runners of every node (a hint; their poll is the fallback). */
    queued(): void {
      changes.announce(JOBS_QUEUED)
    },

    /** Queued or running jobs of these kinds, read in `q` (the caller's transaction, to refuse an overlapping job). */
    active: (q: Queryable, spaceId: string, kinds: readonly string[]): Promise<Job[]> => store.active(q, spaceId, kinds),

    async get(spaceId: string, id: string): Promise<Job> {
      return (await store.get(db, spaceId, id)) ?? Promise.reject(notFound('job', id))
    },

    async list(spaceId: string, query: { state: JobState | null; kind: string | null; cursor: string | null; limit: number }): Promise<{ jobs: Job[]; nextCursor: string | null }> {
      const before = query.cursor
        ? decodeCursor(query.cursor, (value) => {
            const { c, i } = (value ?? {}) as { c?: unknown; i?: unknown }
            return typeof c === 'string' && typeof i === 'string' && !Number.isNaN(Date.parse(c)) ? { createdAt: c, id: i } : null
          })
        : null
      const rows = await store.list(db, spaceId, { state: query.state, kind: query.kind }, before, query.limit + 1)
      const jobs = rows.slice(0, query.limit)
      const last = jobs.at(-1)
      return { jobs, nextCursor: rows.length > query.limit && last ? encodeCursor({ c: last.createdAt, i: last.id }) : null }
    },

    /** Stops a queued or running job where it is (a runner finds it cancelled before its next batch). */
    async cancel(q: Queryable, spaceId: string, id: string): Promise<boolean> {
      return store.cancel(q, spaceId, id, clock())
    },
  }
}

export type JobsService = ReturnType<typeof createJobsService>
