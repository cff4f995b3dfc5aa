import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Db, Listener, Queryable } from './db.js'

/** The one NOTIFY channel every node listens on; payloads are `<node id> <topic>`. */
export const CHANGE_CHANNEL = 'gatehouse_changes'

export interface ChangeFeedOptions {
  db: Db
  logger?: FastifyBaseLogger
  /**
   * How often a PostgreSQL node reads the version table, the guarantee behind the notifications: a
   * lost notification delays an invalidation by at most this much, never skips it. Default 100 ms.
   */
  pollIntervalMs?: number
  /** Tests only: drop incoming notifications, so that only the poll is left. */
  ignoreNotifications?: boolean
}

/**
 * "Something changed" hints between the server processes that share one database, for caches
 * (invalidate) and waiters (wake up). Two ways a change travels, so that neither alone is trusted:
 *
 * - `touch(tx, topic)` inside the change's transaction bumps the topic's row in `change_versions`;
 *   every PostgreSQL node polls that table, so it sees the change within one poll interval whatever
 *   happened to the notification.
 * - `announce(topic)` after the commit tells this node's subscribers at once and every other node
 *   through `NOTIFY` (a few bytes, sent outside the change's transaction and never awaited by it:
 *   a full notification queue or a stuck listener can delay a hint, never fail or stall a write).
 *
 * A topic only announced (never touched) is a wake-up hint whose fallback is the waiter's own poll.
 * On PGlite there is one process: announcements reach everyone, and no poll runs.
 */
export function createChangeFeed(options: ChangeFeedOptions) {
  const { db, logger } = options
  const pollIntervalMs = options.pollIntervalMs ?? 100
  const polling = db.kind === 'postgres'
  const nodeId = randomBytes(6).toString('hex')
  const subscribers = new Map<string, Set<(topic: string) => void>>()
  const generations = new Map<string, number>()
  const versions = new Map<string, number>()
  let listener: Listener | null = null
  let timer: NodeJS.Timeout | null = null
  let polled: Promise<void> | null = null
  let lastPollAt = 0
  let firstPollDone = false
  let started = false

  const changed = (topic: string) => {
    generations.set(topic, (generations.get(topic) ?? 0) + 1)
    for (const subscriber of subscribers.get(topic) ?? []) {
      try {
        subscriber(topic)
      } catch (error) {
        logger?.error({ err: error, topic }, 'a change-feed subscriber threw')
      }
    }
  }

  const poll = async () => {
    const startedAt = Date.now()
    const { rows } = await db.query<{ topic: string; version: number }>('SELECT topic, version FROM change_versions')
    for (const row of rows) {
      const known = versions.get(row.topic)
      versions.set(row.topic, row.version)
      // A topic first seen after the first poll is a change too: its row was created by one.
      if (known !== row.version && (known !== undefined || firstPollDone)) changed(row.topic)
    }
    firstPollDone = true
    // Freshness counts from when the read started: a change committed after that is not covered.
    lastPollAt = startedAt
  }

  const pollNow = (): Promise<void> => {
    polled ??= poll()
      .catch((error: unknown) => logger?.warn({ err: error }, 'change feed: could not read change_versions; caches bypass until it can'))
      .finally(() => {
        polled = null
      })
    return polled
  }

  const schedule = () => {
    timer = setTimeout(() => {
      void pollNow().finally(() => {
        if (timer) schedule()
      })
    }, pollIntervalMs)
    timer.unref()
  }

  const touch = async (tx: Queryable, ...topics: string[]): Promise<void> => {
    for (const topic of [...new Set(topics)].sort()) {
      await tx.query(
        `INSERT INTO change_versions (topic, version, changed_at) VALUES ($1, 1, now())
         ON CONFLICT (topic) DO UPDATE SET version = change_versions.version + 1, changed_at = now()`,
        [topic],
      )
    }
  }

  return {
    nodeId,
    pollIntervalMs,

    /** Inside the change's transaction: the topic's version moves with the change, or not at all. */
    touch,

    /**
     * Inside the change's transaction, for a writer that does not see its own commit (a background
     * job's batch, committed by the job runner): touches the topics and queues a NOTIFY that the
     * commit itself delivers, to every node, this one included (through its own listener), and
     * never if the transaction rolls back. Unlike `announce`, a full notification queue would fail
     * the commit: keep it to rare writes (key rotations and retirements). Nodes that miss it see the
     * touched version at their next poll, as for any change.
     */
    async announceOnCommit(tx: Queryable, ...topics: string[]): Promise<void> {
      await touch(tx, ...topics)
      // '*' is no node's id, so the listener of the node that wrote takes it too.
      for (const topic of new Set(topics)) await tx.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, `* ${topic}`])
    },

    /** After the commit: this node's subscribers now, the others through NOTIFY (best effort). */
    announce(...topics: string[]): void {
      for (const topic of new Set(topics)) {
        changed(topic)
        db.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, `${nodeId} ${topic}`]).catch((error: unknown) =>
          logger?.warn({ err: error, topic }, 'change feed: NOTIFY failed; other nodes see the change at their next poll'),
        )
      }
    },

    /** Calls `subscriber` whenever `topic` changes on any node. Returns the unsubscribe. */
    subscribe(topic: string, subscriber: (topic: string) => void): () => void {
      let set = subscribers.get(topic)
      if (!set) subscribers.set(topic, (set = new Set()))
      set.add(subscriber)
      return () => set.delete(subscriber)
    },

    /**
     * How many changes of `topic` this node has seen. A cache reads it before it reads the database
     * and keeps what it read only while the number is unchanged, so a change that lands during the
     * read is not missed.
     */
    generation(topic: string): number {
      return generations.get(topic) ?? 0
    },

    /**
     * Whether a cache may answer now. False before `start()`, and on PostgreSQL when the version table
     * has not been read for two poll intervals (the database is unreachable or this node is
     * starved): a cache that cannot know whether it is stale must not be trusted.
     */
    fresh(): boolean {
      if (!started) return false
      return !polling || Date.now() - lastPollAt <= pollIntervalMs * 2
    },

    /** Listens and polls; call after migrations (the version table must exist). */
    async start(): Promise<void> {
      if (started) return
      listener = await db.listen(
        CHANGE_CHANNEL,
        (payload) => {
          if (options.ignoreNotifications) return
          const space = payload.indexOf(' ')
          if (space < 0 || payload.slice(0, space) === nodeId) return
          changed(payload.slice(space + 1))
        },
        // Notifications sent while the listener was reconnecting are lost: the poll catches up now.
        () => void pollNow(),
      )
      if (polling) {
        await pollNow()
        schedule()
      }
      started = true
    },

    async stop(): Promise<void> {
      started = false
      if (timer) clearTimeout(timer)
      timer = null
      await polled
      await listener?.close()
      listener = null
    },

    /** Tests: read the version table now (as the next poll would). */
    pollNow,
  }
}

export type ChangeFeed = ReturnType<typeof createChangeFeed>
