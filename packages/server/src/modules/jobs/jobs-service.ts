import type { Db, Queryable } from '../../db/db.js'
import { notFound } from '../../http/errors.js'
import { decodeCursor, encodeCursor } from '../../lib/cursor.js'
import { newId } from '../../lib/ids.js'
import type { JobsStore } from './jobs-store.js'
import type { Job, JobState, NewJob } from './jobs-types.js'

export function createJobsService({ db, store, clock, created }: { db: Db; store: JobsStore; clock: () => Date; created?: () => void }) {
  return {
    /**
     * Queues a job inside the caller's transaction (with the change that needs it, and its audit
     * event): a rolled-back change leaves no job. Call `notify()` of the runner after the commit
     * to start it at once on this node; otherwise any runner finds it within its poll interval.
     */
    async create(q: Queryable, spaceId: string, job: NewJob): Promise<Job> {
      const now = clock()
      const notBefore = job.delayMs ? new Date(now.getTime() + job.delayMs) : null
      const inserted = await store.insert(q, { spaceId, id: newId('job'), kind: job.kind, params: job.params ?? {}, total: job.total ?? null, now, notBefore })
      created?.()
      return inserted
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
