import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import { createJobRunner, type JobRunnerLogger } from './jobs-runner.js'
import { JobSchema, registerJobsRoutes } from './jobs-routes.js'
import { createJobsService } from './jobs-service.js'
import { createJobsStore } from './jobs-store.js'

export type { BatchResult, ClaimedJob, Job, JobHandler, JobState, NewJob } from './jobs-types.js'
export { JOBS_QUEUED } from './jobs-types.js'
export { createJobRunner, type JobRunner, type BatchOutcome } from './jobs-runner.js'
export { createJobsStore, type JobsStore } from './jobs-store.js'
export type { JobsService } from './jobs-service.js'

/**
 * Background jobs (table vault_jobs): the service queues and reports them, the runner runs them.
 * The runner is not started here: the server starts it after migrating; tests drive their own.
 * Modules add their job kinds with `runner.register(kind, handler)`. A commit that queued a job is
 * announced on the change feed (`JOBS_QUEUED`), so that the runner of any node starts it at once.
 */
export function createJobsModule(deps: { db: Db; clock: () => Date; changes: Pick<ChangeFeed, 'touch' | 'announce' | 'subscribe'>; logger?: JobRunnerLogger; leaseMs?: number; pollIntervalMs?: number }) {
  const store = createJobsStore()
  const runner = createJobRunner({
    db: deps.db,
    store,
    clock: deps.clock,
    handlers: {},
    changes: deps.changes,
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.leaseMs ? { leaseMs: deps.leaseMs } : {}),
    ...(deps.pollIntervalMs ? { pollIntervalMs: deps.pollIntervalMs } : {}),
  })
  const service = createJobsService({ db: deps.db, store, clock: deps.clock, changes: deps.changes })
  return { store, service, runner, schemas: [JobSchema], register: (app: App) => registerJobsRoutes(app, { jobs: service }) }
}
