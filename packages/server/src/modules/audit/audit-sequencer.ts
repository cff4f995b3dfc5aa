import { appendLeaves, auditLeafHash, auditOrigin, emptyRoot, foldRange, formatCheckpoint } from '@gatehouse/sdk'
import type { FastifyBaseLogger } from 'fastify'
import type { Db, Queryable } from '../../db/db.js'
import { AppError } from '../../http/errors.js'
import type { CheckpointSigner } from './audit-signer.js'
import type { AuditStore } from './audit-store.js'
import type { LogCheckpoint, LogHead } from './audit-types.js'

/**
 * The sequencer: gives queued events their gapless seq, in the order it finds them committed, and
 * extends the space's Merkle tree. Any node may run it; one at a time per space, by a row lock on
 * the space's head (NO KEY UPDATE … SKIP LOCKED, so writers, whose foreign key only share-locks
 * the head, never wait for it, and a second sequencer skips the space instead of queueing). Each
 * batch is one transaction: the events it moves, the subtrees it completes, the new head and, when
 * due, the signed checkpoint all commit together or not at all, so a crash between a writer's
 * commit and integration leaves the events queued for the next run, never half-integrated.
 */

export interface CheckpointCadence {
  /** Sign a checkpoint once this many events were integrated since the last one… */
  everyEvents: number
  /** …or once this long has passed with any event integrated since. */
  everyMs: number
}

export interface SequencerDeps {
  db: Db
  store: AuditStore
  signer: CheckpointSigner
  clock: () => Date
  /** C2SP key name of this deployment; a space's log is `<logName>/spaces/<id>`. */
  logName: string
  cadence: CheckpointCadence
  /** Queues the checkpoint's webhook (`audit/checkpoint`) in the batch's transaction. */
  announce?: (tx: Queryable, spaceId: string, checkpoint: LogCheckpoint & { origin: string }) => Promise<void>
  /** After the commit: copies to a witness (a file), wakes the webhook worker. */
  published?: (spaceId: string, checkpoint: LogCheckpoint & { origin: string }) => Promise<void> | void
  /** Events per batch (one transaction). */
  batchSize?: number
}

const toBytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'))
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
export const rootOf = (frontier: readonly string[]): Uint8Array => (frontier.length === 0 ? emptyRoot() : foldRange(frontier.map(toBytes)))

export interface BatchResult {
  /** Another sequencer held the space. */
  busy: boolean
  integrated: number
  treeSize: number
  /** More may be waiting (the batch was full, or migrated events remain to be hashed in). */
  more: boolean
  checkpoint: (LogCheckpoint & { origin: string }) | null
}

export function createSequencer(deps: SequencerDeps) {
  const { db, store, signer, clock, logName, cadence } = deps
  const batchSize = deps.batchSize ?? 5000

  /**
   * Signs the tree as it stands in this transaction (the head is locked), if this node holds the
   * database's current key; `must` turns a missing key into an error, else no checkpoint is made.
   */
  async function sign(tx: Queryable, spaceId: string, size: number, frontier: string[], must: boolean): Promise<(LogCheckpoint & { origin: string }) | null> {
    let current = await store.lockCurrentSigningKey(tx)
    if (current === null && (await store.addCurrentSigningKey(tx, signer.keyId, signer.publicKeyPem))) current = signer.keyId
    if (current !== signer.keyId) {
      if (!must) return null
      throw new AppError(
        'unavailable',
        `this node's audit signing key (key id ${signer.keyId}) is not the database's current one (${current ?? 'none'}): restart it with the current key file`,
      )
    }
    const origin = auditOrigin(logName, spaceId)
    const root = rootOf(frontier)
    const note = signer.signNote(formatCheckpoint({ origin, treeSize: size, rootHash: root }), logName)
    const checkpoint = { origin, treeSize: size, rootHash: Buffer.from(root).toString('base64'), note, keyId: signer.keyId, time: clock().toISOString() }
    await store.insertLogCheckpoint(tx, spaceId, checkpoint)
    await deps.announce?.(tx, spaceId, checkpoint)
    return checkpoint
  }

  const due = (head: LogHead, size: number, now: Date) =>
    size > head.checkpointSize &&
    (size - head.checkpointSize >= cadence.everyEvents || head.checkpointTime === null || now.getTime() - head.checkpointTime.getTime() >= cadence.everyMs)

  /** One batch in one transaction. `wait`: wait for another sequencer instead of skipping the space. */
  async function batch(spaceId: string, options: { wait?: boolean; forceCheckpoint?: boolean } = {}): Promise<BatchResult> {
    const result = await db.transaction(async (tx): Promise<BatchResult> => {
      const head = await store.lockHead(tx, spaceId, !options.wait)
      if (!head) return { busy: true, integrated: 0, treeSize: 0, more: false, checkpoint: null }
      let size = head.treeSize
      let frontier = head.frontier
      let integrated = 0
      let more = false
      if (head.treeSize < head.seq) {
        // Events of the old hash chain: already sequenced, hashed into the tree in seq order.
        const rows = await store.unhashed(tx, spaceId, head.treeSize, batchSize)
        if (rows.length === 0 || rows[0]!.seq !== head.treeSize + 1) {
          throw new Error(`audit log of space ${spaceId}: event ${head.treeSize + 1} is missing, cannot extend the tree past ${head.treeSize}`)
        }
        const leaves = rows.map((row) => toHex(auditLeafHash(row.content)))
        const grown = appendLeaves(size, frontier.map(toBytes), leaves.map(toBytes))
        frontier = grown.frontier.map(toHex)
        size += rows.length
        await store.hashIn(tx, spaceId, {
          leaves: rows.map((row, i) => ({ seq: row.seq, leaf: leaves[i]! })),
          nodes: grown.completed.map((node) => ({ level: node.level, idx: node.index, hash: toHex(node.hash) })),
          head: { size, frontier: frontier.join('') },
        })
        more = true
      } else {
        const queued = await store.oldestPending(tx, spaceId, batchSize)
        if (queued.length > 0) {
          const leaves = queued.map((row) => row.leafHash ?? toHex(auditLeafHash(row.content!)))
          const grown = appendLeaves(size, frontier.map(toBytes), leaves.map(toBytes))
          frontier = grown.frontier.map(toHex)
          const moves = queued.map((row, i) => ({ pos: row.pos, seq: size + i + 1, leaf: leaves[i]! }))
          size += queued.length
          const moved = await store.integrate(tx, spaceId, {
            moves,
            nodes: grown.completed.map((node) => ({ level: node.level, idx: node.index, hash: toHex(node.hash) })),
            head: { size, frontier: frontier.join('') },
          })
          // Another sequencer cannot have taken them (the head is locked): anything else is a bug.
          if (moved !== queued.length) throw new Error(`audit sequencer moved ${moved} of ${queued.length} queued events of space ${spaceId}`)
          integrated = queued.length
          more = queued.length === batchSize
        }
      }
      const now = clock()
      const checkpoint =
        // On demand, always signed (by this node's key, if it is the current one), even at a size
        // already signed: the note may differ (time, key) but states the same size and root.
        options.forceCheckpoint
          ? await sign(tx, spaceId, size, frontier, true)
          : due(head, size, now)
            ? await sign(tx, spaceId, size, frontier, false)
            : null
      return { busy: false, integrated, treeSize: size, more: more || (head.treeSize < head.seq && size < head.seq), checkpoint }
    })
    if (result.checkpoint) await deps.published?.(spaceId, result.checkpoint)
    return result
  }

  /**
   * Integrates everything queued in the space now (batch after batch). Without `wait`, returns at
   * once (busy) when another sequencer holds the space: it is integrating the same events.
   */
  async function integrate(spaceId: string, options: { wait?: boolean } = {}): Promise<{ busy: boolean; integrated: number; treeSize: number }> {
    let integrated = 0
    for (;;) {
      const result = await batch(spaceId, options)
      integrated += result.integrated
      if (result.busy || !result.more) return { busy: result.busy, integrated, treeSize: result.treeSize }
    }
  }

  /** Spaces whose checkpoint fell due by time (integrated events, none signed for `everyMs`). */
  const dueSpaces = (limit: number) => store.spacesCheckpointDue(db, new Date(clock().getTime() - cadence.everyMs), limit)

  return { batch, integrate, dueSpaces }
}

export type Sequencer = ReturnType<typeof createSequencer>

/**
 * Runs the sequencer in the background: woken after an append (the space is remembered and run a
 * moment later — 20 ms, so that appends arriving together make one batch — once the append's
 * transaction has likely committed) and on a timer that sweeps
 * every space with queued events, hashes migrated events in and signs checkpoints that fell due by
 * time. The timer bounds the merge delay: an event committed is integrated within one interval
 * plus a batch, on some node.
 */
export function createSequencerWorker(deps: { sequencer: Sequencer; store: AuditStore; db: Db; intervalMs: number; wakeDelayMs?: number; logger?: FastifyBaseLogger }) {
  const { sequencer, store, db, intervalMs, logger } = deps
  const wakeDelayMs = deps.wakeDelayMs ?? 20
  const woken = new Set<string>()
  let running = false
  let wakeUp: (() => void) | null = null
  let loop: Promise<void> | null = null

  async function run(spaces: Iterable<string>): Promise<void> {
    for (const space of spaces) {
      try {
        await sequencer.integrate(space)
      } catch (error) {
        logger?.error({ err: error, space }, 'audit sequencer failed')
      }
    }
  }

  async function sweep(): Promise<void> {
    const spaces = new Set([...(await store.spacesWithPending(db, 1000)), ...(await store.spacesBehind(db, 1000))])
    await run(spaces)
    // Checkpoints fall due by time too: a space with no new batch still gets one once its interval passed.
    for (const space of await sequencer.dueSpaces(1000)) {
      try {
        await sequencer.batch(space)
      } catch (error) {
        logger?.error({ err: error, space }, 'audit checkpoint failed')
      }
    }
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms).unref()
      wakeUp = () => {
        clearTimeout(timer)
        resolve()
      }
    })

  // One loop, started outside any request: its timers and transactions never run in the async
  // context of the append that woke it (which may still be inside its own transaction).
  async function main(): Promise<void> {
    let lastSweep = 0
    while (running) {
      if (Date.now() - lastSweep >= intervalMs) {
        lastSweep = Date.now()
        await sweep().catch((error: unknown) => logger?.error({ err: error }, 'audit sequencer sweep failed'))
      } else if (woken.size > 0) {
        // A moment for the waking append to commit, and for appends arriving with it to join the batch.
        await sleep(wakeDelayMs)
        const spaces = [...woken]
        woken.clear()
        await run(spaces)
      } else {
        await sleep(Math.max(1, intervalMs - (Date.now() - lastSweep)))
      }
    }
  }

  return {
    start() {
      if (running) return
      running = true
      loop = main()
    },
    /** After an append: integrate this space soon. Does nothing unless started. */
    wake(spaceId: string) {
      if (!running) return
      const idle = woken.size === 0
      woken.add(spaceId)
      if (idle) wakeUp?.()
    },
    async stop() {
      running = false
      wakeUp?.()
      await loop
      loop = null
    },
  }
}
