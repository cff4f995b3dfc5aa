import { createHash } from 'node:crypto'
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { Queryable } from '../db/db.js'

/** What the rate-limit plugin needs back: attempts in this window so far, and ms until it ends. */
export interface RateLimitCount {
  current: number
  ttl: number
}

/** Sweep ended windows after this many attempts counted by one process (housekeeping, not correctness). */
const SWEEP_EVERY = 500
const SWEEP_BATCH = 1000

/**
 * Fixed-window counters in `rate_limit_counters`, shared by every process on the database. One
 * statement per attempt: the upsert starts a new window when the stored one has ended, otherwise
 * adds one, and answers the count and the time left, all in the database's clock, so nodes with
 * skewed clocks still share one window.
 */
export function createRateLimitCounters(db: Queryable) {
  let counted = 0
  const sweep = () =>
    db
      .query(`DELETE FROM rate_limit_counters WHERE key IN (SELECT key FROM rate_limit_counters WHERE window_ends_at < now() LIMIT ${SWEEP_BATCH})`)
      .catch(() => undefined)

  return {
    async hit(key: string, windowMs: number): Promise<RateLimitCount> {
      const { rows } = await db.query<{ hits: number; ttl_ms: string }>(
        `INSERT INTO rate_limit_counters AS c (key, hits, window_ends_at)
         VALUES ($1, 1, now() + make_interval(secs => $2::double precision / 1000))
         ON CONFLICT (key) DO UPDATE SET
           hits = CASE WHEN c.window_ends_at <= now() THEN 1 ELSE c.hits + 1 END,
           window_ends_at = CASE WHEN c.window_ends_at <= now() THEN excluded.window_ends_at ELSE c.window_ends_at END
         RETURNING c.hits, ceil(extract(epoch FROM c.window_ends_at - now()) * 1000)::bigint AS ttl_ms`,
        [key, windowMs],
      )
      counted += 1
      if (counted % SWEEP_EVERY === 0) void sweep()
      const row = rows[0]!
      return { current: row.hits, ttl: Math.max(0, Number(row.ttl_ms)) }
    },

    /** The count without adding to it (the plugin's `increment: false`). */
    async read(key: string): Promise<RateLimitCount> {
      const { rows } = await db.query<{ hits: number; ttl_ms: string }>(
        `SELECT hits, ceil(extract(epoch FROM window_ends_at - now()) * 1000)::bigint AS ttl_ms
         FROM rate_limit_counters WHERE key = $1 AND window_ends_at > now()`,
        [key],
      )
      const row = rows[0]
      return row ? { current: row.hits, ttl: Math.max(0, Number(row.ttl_ms)) } : { current: 0, ttl: 0 }
    },

    sweep,
  }
}

export type RateLimitCounters = ReturnType<typeof createRateLimitCounters>

interface ChildOptions {
  groupId?: string
  routeInfo?: { method?: string | string[]; url?: string }
}

/**
 * Which budget a route's attempts count against: routes with the same `groupId` share one (two doors
 * to one password check), any other route has its own. Pure, so tested beside.
 */
export function bucketOf(route: ChildOptions): string {
  if (route.groupId) return `group:${route.groupId}`
  const method = Array.isArray(route.routeInfo?.method) ? route.routeInfo.method.join(',') : (route.routeInfo?.method ?? '')
  return `route:${method} ${route.routeInfo?.url ?? ''}`
}

/** The stored key: a hash of bucket and the plugin's key (client address, space), bounded and not readable. */
export const counterKey = (bucket: string, key: string): string => createHash('sha256').update(`${bucket}\u0000${key}`).digest('base64url')

/**
 * A `store` for @fastify/rate-limit on `rate_limit_counters`, so that every node counts against the
 * same budget (the plugin's memory store counts per process, and per route). A failure to count
 * fails the request (the plugin's `skipOnError` stays off): no attempt goes uncounted.
 */
export function databaseRateLimitStore(counters: RateLimitCounters): FastifyRateLimitStoreCtor {
  class DatabaseRateLimitStore implements FastifyRateLimitStore {
    constructor(
      _options: unknown,
      private readonly bucket = 'global',
    ) {}

    incr(key: string, callback: (error: Error | null, result?: RateLimitCount) => void, timeWindow: number): void {
      counters.hit(counterKey(this.bucket, key), timeWindow).then(
        (result) => callback(null, result),
        (error: Error) => callback(error),
      )
    }

    read(key: string, callback: (error: Error | null, result?: RateLimitCount) => void): void {
      counters.read(counterKey(this.bucket, key)).then(
        (result) => callback(null, result),
        (error: Error) => callback(error),
      )
    }

    child(routeOptions: unknown): FastifyRateLimitStore {
      return new DatabaseRateLimitStore(undefined, bucketOf(routeOptions as ChildOptions))
    }
  }
  return DatabaseRateLimitStore
}
