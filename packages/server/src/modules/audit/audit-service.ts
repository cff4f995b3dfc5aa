import { auditLeafHash, consistencyRanges, foldRange, inclusionRanges, rangeNodes, type LeafRange } from '@gatehouse/sdk'
import type { Db, Queryable } from '../../db/db.js'
import { AppError, badRequest, notFound } from '../../http/errors.js'
import { decodeSeqCursor, encodeSeqCursor } from '../../lib/cursor.js'
import { newId } from '../../lib/ids.js'
import { GENESIS_HASH, jsonRoundTrip } from './audit-chain.js'
import type { Sequencer } from './audit-sequencer.js'
import type { CheckpointSigner } from './audit-signer.js'
import { PENDING_INSERT, type AuditStore } from './audit-store.js'
import type { AuditEvent, AuditEventInput, AuditFilter, LogCheckpoint, PendingEvent, QueuedEvent, SignedCheckpoint, VerifyReport } from './audit-types.js'

export interface AuditServiceDeps {
  db: Db
  store: AuditStore
  signer: CheckpointSigner
  clock: () => Date
  sequencer: Sequencer
  verify: (spaceId: string, checkpoints: SignedCheckpoint[], notes: string[]) => Promise<VerifyReport>
  logName: string
  /** Called after each append (inside its transaction) or record (committed): wakes the background sequencer. */
  appended?: (spaceId: string) => void
}

const PAGE = 1000

/** The wire form of a proof's hashes. */
const base64 = (hashes: Uint8Array[]) => hashes.map((hash) => Buffer.from(hash).toString('base64'))

export function createAuditService({ db, store, signer, clock, sequencer, verify, logName, appended }: AuditServiceDeps) {
  /** One INSERT of the queued event, on `on` (the caller's transaction, or the Db: autocommit). */
  async function queue(on: Queryable, spaceId: string, input: AuditEventInput): Promise<PendingEvent> {
    const event: Omit<QueuedEvent, 'leafHash'> = jsonRoundTrip({
      id: newId('evt'),
      space: spaceId,
      time: clock().toISOString(),
      actor: input.actor,
      event: input.event,
      resources: input.resources ?? [],
      meta: input.meta ?? {},
    })
    await store.insertPending(on, { ...event, leafHash: Buffer.from(auditLeafHash(event)).toString('hex') })
    appended?.(spaceId)
    return { ...event, pending: true }
  }

  /**
   * Oldest first, in keyset pages, so a million events stream in constant memory; a page at a time,
   * not an event at a time (a million events would be a million promises).
   */
  async function* walk(spaceId: string, filter: AuditFilter, afterSeq = 0): AsyncGenerator<AuditEvent[]> {
    let after = afterSeq
    for (;;) {
      const page = await store.pageAfter(db, spaceId, filter, after, PAGE)
      if (page.length > 0) yield page
      if (page.length < PAGE) return
      after = page[page.length - 1]!.seq
    }
  }

  /** The tree's size now; proofs may be asked for any size up to it. */
  async function treeSize(spaceId: string): Promise<number> {
    const head = await store.readHead(db, spaceId)
    if (!head) throw notFound('space', spaceId)
    return head.treeSize
  }

  /** The Merkle tree hash of each range, from the stored subtrees (O(log n) reads per range, all in two queries). */
  async function rangeHashes(spaceId: string, ranges: LeafRange[]): Promise<Uint8Array[]> {
    const plan = ranges.map(([start, end]) => rangeNodes(start, end))
    const found = await store.nodes(db, spaceId, plan.flat())
    return plan.map((nodes) =>
      foldRange(
        nodes.map((node) => {
          const hex = found.get(`${node.level}:${node.index}`)
          if (!hex) throw new Error(`audit tree of space ${spaceId} lacks the subtree at level ${node.level}, index ${node.index}`)
          return new Uint8Array(Buffer.from(hex, 'hex'))
        }),
      ),
    )
  }

  return {
    /** Called in the transaction that creates a space. */
    initSpace: (tx: Queryable, spaceId: string) => store.createHead(tx, spaceId, GENESIS_HASH),

    /**
     * Queues one event inside the caller's transaction, so it commits or rolls back with the change
     * it records. No lock: the sequencer gives it its seq once it has committed (a rolled-back
     * append leaves nothing, so no gap). The leaf hash is computed here, on the writer's node.
     */
    append: (tx: Queryable, spaceId: string, input: AuditEventInput): Promise<PendingEvent> => queue(tx, spaceId, input),

    /**
     * A bare audited event — one that records no other change (a refused sign-in, a refused vault
     * call): one autocommit INSERT, no transaction around it (BEGIN and COMMIT would be two more
     * round trips and hold a connection idle in between). It has committed when this resolves. A
     * change and its event still go through `append` in the change's transaction.
     */
    record: (spaceId: string, input: AuditEventInput): Promise<PendingEvent> => queue(db, spaceId, input),

    /**
     * For a statement that records its own audit event (a vault find: its page and its event in one
     * round trip, as a data-modifying CTE): the INSERT of the queued event, its placeholders from
     * `firstParam` on, its meta being the input's merged with the jsonb object `extra.metaSql` and
     * its resources the input's followed by the jsonb array `extra.resourcesSql` (SQL of the
     * caller's, over its own CTEs; any placeholders in it are the caller's, numbered below
     * `firstParam`). The leaf hash is left to the sequencer, which computes it from what was
     * stored. Call `committed()` once the statement has run.
     */
    eventInsert(spaceId: string, input: AuditEventInput, extra: { metaSql: string; resourcesSql?: string }, firstParam: number) {
      const event = jsonRoundTrip({ id: newId('evt'), time: clock().toISOString(), actor: input.actor, event: input.event, resources: input.resources ?? [], meta: input.meta ?? {} })
      const p = (i: number) => `$${firstParam + i}`
      return {
        sql: `${PENDING_INSERT} SELECT ${p(0)}, ${p(1)}, ${p(2)}::timestamptz, ${p(3)}::jsonb, ${p(4)}, ${p(5)}::jsonb${extra.resourcesSql ? ` || (${extra.resourcesSql})` : ''}, ${p(6)}::jsonb || (${extra.metaSql}), NULL RETURNING 1`,
        params: [spaceId, event.id, event.time, JSON.stringify(event.actor), event.event, JSON.stringify(event.resources), JSON.stringify(event.meta)],
        committed: () => appended?.(spaceId),
      }
    },

    /**
     * Integrates what is queued in the space now, waiting for a sequencer on another node if one
     * holds it; for tests, benches and "read your writes". Returns the tree size.
     */
    integrateNow: async (spaceId: string) => (await sequencer.integrate(spaceId, { wait: true })).treeSize,

    /**
     * Newest first. Integrates what is queued first (unless another node's sequencer is at it), so
     * a reader sees what was just written in the log; what is still queued is listed as pending.
     */
    async list(spaceId: string, filter: AuditFilter, cursor: string | undefined, limit: number) {
      const before = cursor ? decodeSeqCursor(cursor) : null
      await sequencer.integrate(spaceId)
      // One row more than the page tells whether another page exists: no cursor after the last one.
      const rows = await store.list(db, spaceId, filter, before, limit + 1)
      const events = rows.slice(0, limit)
      const last = events[events.length - 1]
      const pending = before === null ? await store.listPending(db, spaceId, filter, limit) : []
      return { events, pending, nextCursor: rows.length > limit && last ? encodeSeqCursor(last.seq) : null }
    },

    /** Every integrated event, oldest first, in pages (queued ones are integrated first when possible). */
    async *export(spaceId: string, filter: AuditFilter): AsyncGenerator<AuditEvent[]> {
      await sequencer.integrate(spaceId)
      yield* walk(spaceId, filter)
    },

    verify: (spaceId: string, checkpoints: SignedCheckpoint[], notes: string[] = []) => verify(spaceId, checkpoints, notes),

    /**
     * On demand: integrates everything queued, then signs a checkpoint of the tree (or returns the
     * latest one when it already covers every event).
     */
    async checkpoint(spaceId: string): Promise<LogCheckpoint & { origin: string }> {
      await sequencer.integrate(spaceId, { wait: true })
      const result = await sequencer.batch(spaceId, { wait: true, forceCheckpoint: true })
      if (result.checkpoint) return result.checkpoint
      const [latest] = await store.listLogCheckpoints(db, spaceId, null, 1)
      if (!latest) throw new AppError('unavailable', 'no checkpoint could be signed')
      return { ...latest, origin: `${logName}/spaces/${spaceId}` }
    },

    async latestCheckpoint(spaceId: string): Promise<LogCheckpoint & { origin: string }> {
      const [latest] = await store.listLogCheckpoints(db, spaceId, null, 1)
      if (!latest) throw notFound('checkpoint', spaceId)
      return { ...latest, origin: `${logName}/spaces/${spaceId}` }
    },

    async listCheckpoints(spaceId: string, cursor: string | undefined, limit: number) {
      const rows = await store.listLogCheckpoints(db, spaceId, cursor ? decodeSeqCursor(cursor) : null, limit + 1)
      const checkpoints = rows.slice(0, limit).map((checkpoint) => ({ ...checkpoint, origin: `${logName}/spaces/${spaceId}` }))
      const last = checkpoints[checkpoints.length - 1]
      return { checkpoints, nextCursor: rows.length > limit && last && last.treeSize > 0 ? encodeSeqCursor(last.treeSize) : null }
    },

    /** RFC 6962 audit path of the event with `seq` in the tree of `size` leaves. */
    async inclusionProof(spaceId: string, seq: number, size: number) {
      const available = await treeSize(spaceId)
      if (size > available) throw badRequest(`treeSize ${size} is beyond the log's ${available} integrated events`)
      if (seq > size) throw badRequest(`event ${seq} is not in a tree of ${size} events`)
      return { leafIndex: seq - 1, treeSize: size, hashes: base64(await rangeHashes(spaceId, inclusionRanges(seq - 1, size))) }
    },

    /** RFC 6962 consistency proof from the tree of `from` leaves to the tree of `to` leaves. */
    async consistencyProof(spaceId: string, from: number, to: number) {
      const available = await treeSize(spaceId)
      if (to > available) throw badRequest(`to ${to} is beyond the log's ${available} integrated events`)
      if (from > to) throw badRequest(`from ${from} is larger than to ${to}`)
      return { from, to, hashes: base64(await rangeHashes(spaceId, consistencyRanges(from, to))) }
    },

    signingKey: () => ({ keyId: signer.keyId, algorithm: 'Ed25519' as const, publicKeyPem: signer.publicKeyPem, verifierKey: signer.verifierKey(logName), logName }),
  }
}

export type AuditService = ReturnType<typeof createAuditService>
