import { randomBytes } from 'node:crypto'
import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db } from '../../db/db.js'
import type { JobsStore } from './jobs-store.js'
import { JOBS_QUEUED, type ClaimedJob, type JobHandler } from './jobs-types.js'

export interface JobRunnerLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface JobRunnerDeps {
  db: Db
  store: JobsStore
  clock: () => Date
  logger?: JobRunnerLogger
  /** One handler per job kind; a runner only claims the kinds it has handlers for. */
  handlers: Record<string, JobHandler>
  /** How long a claim keeps other nodes off a job without a batch committing (default 60 s). */
  leaseMs?: number
  /** How often an idle runner looks for work (default 2 s): the fallback when a `JOBS_QUEUED` hint is lost. */
  pollIntervalMs?: number
  /** While started, the runner wakes on `JOBS_QUEUED` from any node (a commit that queued a job). */
  changes?: Pick<ChangeFeed, 'subscribe'>
  /** After a failed batch, how long before it is tried again (default 5 s), and how many failures in a row fail the job (default 5). */
  retryDelayMs?: number
  maxAttempts?: number
  /** This runner's name in `lease_owner` (default: random per runner). */
  owner?: string
}

export type BatchOutcome = 'continue' | 'done' | 'lost' | 'failed'

/**
 * Runs background jobs from `vault_jobs` on any node. A job is claimed with a lease (FOR UPDATE SKIP
 * LOCKED); each batch runs in one transaction that first re-locks the job row and checks the lease
 * is still this runner's, then runs the handler and records its progress and a longer lease. So a
 * batch and its progress commit together; a runner whose lease ran out (it stalled, or its node
 * died) finds the job taken and stops before doing anything; and the runner that took it over
 * starts from the last committed cursor. Nothing rests on this process's memory.
 */
export function createJobRunner(deps: JobRunnerDeps) {
  const { db, store, clock, logger } = deps
  const handlers: Record<string, JobHandler> = { ...deps.handlers }
  const leaseMs = deps.leaseMs ?? 60_000
  const pollIntervalMs = deps.pollIntervalMs ?? 2_000
  const retryDelayMs = deps.retryDelayMs ?? 5_000
  const maxAttempts = deps.maxAttempts ?? 5
  const owner = deps.owner ?? `runner_${randomBytes(6).toString('hex')}`
  const leaseFrom = (now: Date) => new Date(now.getTime() + leaseMs)

  let stopping = false
  let loop: Promise<void> | null = null
  let wake: (() => void) | null = null
  let unsubscribe: (() => void) | null = null
  /** A hint arrived while the runner was busy claiming or running: look again before sleeping. */
  let nudged = false

  async function claim(): Promise<ClaimedJob | null> {
    const now = clock()
    return store.claim(db, { kinds: Object.keys(handlers), owner, now, leaseUntil: leaseFrom(now) })
  }

  /** Runs the next batch of a job this runner claimed. */
  async function runBatch(job: ClaimedJob): Promise<BatchOutcome> {
    const handler = handlers[job.kind]
    if (!handler) return 'lost'
    try {
      let committed: (() => void) | undefined
      const outcome = await db.transaction(async (tx): Promise<BatchOutcome> => {
        const current = await store.lockHeld(tx, job.space, job.id, owner)
        if (!current) return 'lost'
        const result = await handler(current, tx)
        if (!Number.isInteger(result.processed) || result.processed < 0) throw new Error(`job handler '${job.kind}' returned processed=${result.processed}`)
        const now = clock()
        await store.recordBatch(tx, job.space, job.id, result, now, leaseFrom(now))
        committed = result.afterCommit
        return result.cursor === null ? 'done' : 'continue'
      })
      committed?.()
      return outcome
    } catch (error) {
      const now = clock()
      const state = await store.recordFailure(db, job.space, job.id, owner, {
        error: (error as Error).message ?? String(error),
        now,
        retryAt: new Date(now.getTime() + retryDelayMs),
        maxAttempts,
      })
      logger?.error({ err: error, job: job.id, space: job.space, kind: job.kind, state }, 'a background job batch failed')
      return state === null ? 'lost' : 'failed'
    }
  }

  /**
   * Claims one job and runs its batches until it ends, is lost, fails a batch, or the runner
   * stops (then the lease is given up so another node resumes at once). False when nothing was due.
   */
  async function runOnce(options: { maxBatches?: number } = {}): Promise<boolean> {
    const job = await claim()
    if (!job) return false
    let batches = 0
    for (;;) {
      if (stopping || (options.maxBatches !== undefined && batches >= options.maxBatches)) {
        await store.release(db, job.space, job.id, owner)
        return true
      }
      const outcome = await runBatch(job)
      batches++
      if (outcome === 'done') logger?.info({ job: job.id, space: job.space, kind: job.kind }, 'background job finished')
      if (outcome !== 'continue') return true
      // Let requests in between batches.
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  async function run(): Promise<void> {
    while (!stopping) {
      let worked = false
      nudged = false
      try {
        worked = await runOnce()
      } catch (error) {
        logger?.error({ err: error }, 'the background job runner could not claim a job')
      }
      if (worked || nudged || stopping) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollIntervalMs)
        timer.unref()
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = null
    }
  }

  function notify(): void {
    nudged = true
    wake?.()
  }

  return {
    owner,
    claim,
    runBatch,
    runOnce,
    /** Adds the handler of a job kind (modules register theirs while the app is built). */
    register(kind: string, handler: JobHandler): void {
      if (handlers[kind]) throw new Error(`a handler for job kind '${kind}' is already registered`)
      handlers[kind] = handler
    },
    /** Starts the background loop (the server does, after migrating). */
    start(): void {
      if (loop) return
      stopping = false
      unsubscribe = deps.changes?.subscribe(JOBS_QUEUED, notify) ?? null
      loop = run()
    },
    /** Looks for work now (a job was committed on some node); a hint, never trusted for more. */
    notify,
    /** Finishes the batch in progress, gives its job's lease up, and stops. */
    async stop(): Promise<void> {
      stopping = true
      unsubscribe?.()
      unsubscribe = null
      wake?.()
      await loop
      loop = null
    },
  }
}

export type JobRunner = ReturnType<typeof createJobRunner>
