import type { Db, Queryable } from '../../db/db.js'
import { AppError } from '../../http/errors.js'
import { decodeSeqCursor, encodeSeqCursor } from '../../lib/cursor.js'
import { newId } from '../../lib/ids.js'
import { checkLink, GENESIS_HASH, hashEvent, jsonRoundTrip } from './audit-chain.js'
import type { CheckpointSigner } from './audit-signer.js'
import type { AuditStore } from './audit-store.js'
import type {
  AuditEvent,
  AuditEventBody,
  AuditEventInput,
  AuditFilter,
  AuditHead,
  ChainBreak,
  CheckpointResult,
  SignedCheckpoint,
  VerifyReport,
} from './audit-types.js'

export interface AuditServiceDeps {
  db: Db
  store: AuditStore
  signer: CheckpointSigner
  clock: () => Date
}

const PAGE = 1000


export function createAuditService({ db, store, signer, clock }: AuditServiceDeps) {
  /** Oldest first, in keyset pages, so a million events stream in constant memory. */
  async function* walk(spaceId: string, filter: AuditFilter, afterSeq = 0): AsyncGenerator<AuditEvent> {
    let after = afterSeq
    for (;;) {
      const page = await store.pageAfter(db, spaceId, filter, after, PAGE)
      yield* page
      if (page.length < PAGE) return
      after = page[page.length - 1]!.seq
    }
  }

  return {
    /** Called in the transaction that creates a space. */
    initSpace: (tx: Queryable, spaceId: string) => store.createHead(tx, spaceId, GENESIS_HASH),

    /**
     * Appends one event inside the caller's transaction, so it commits or rolls back with the change
     * it records. Locking the head row makes concurrent appends to one space wait for each other:
     * the chain cannot fork and the sequence has no gaps (a rolled-back append frees its number).
     */
    async append(tx: Queryable, spaceId: string, input: AuditEventInput): Promise<AuditEvent> {
      const head = await store.lockHead(tx, spaceId)
      if (!head) throw new Error(`space ${spaceId} has no audit chain`)
      const body: AuditEventBody = jsonRoundTrip({
        id: newId('evt'),
        space: spaceId,
        seq: head.seq + 1,
        // Taken after the lock, so times follow the sequence.
        time: clock().toISOString(),
        actor: input.actor,
        event: input.event,
        resources: input.resources ?? [],
        meta: input.meta ?? {},
        prevHash: head.hash,
      })
      const event: AuditEvent = { ...body, hash: hashEvent(body) }
      await store.insertEvent(tx, event)
      return event
    },

    async list(spaceId: string, filter: AuditFilter, cursor: string | undefined, limit: number) {
      // One row more than the page tells whether another page exists: no cursor after the last one.
      const rows = await store.list(db, spaceId, filter, cursor ? decodeSeqCursor(cursor) : null, limit + 1)
      const events = rows.slice(0, limit)
      const last = events[events.length - 1]
      return { events, nextCursor: rows.length > limit && last ? encodeSeqCursor(last.seq) : null }
    },

    export: (spaceId: string, filter: AuditFilter) => walk(spaceId, filter),

    /**
     * Walks the whole chain from the genesis and reports the first broken link; then checks each
     * signed checkpoint given: a good signature, and the stored chain having that very hash at that
     * sequence number. A checkpoint is what catches a rewrite of the chain from some row onwards
     * with every later hash recomputed, which the walk alone cannot.
     */
    async verify(spaceId: string, checkpoints: SignedCheckpoint[]): Promise<VerifyReport> {
      const wanted = new Map<number, string | undefined>(checkpoints.map((checkpoint) => [checkpoint.seq, undefined]))
      if (wanted.has(0)) wanted.set(0, GENESIS_HASH)
      let previous: AuditHead = { seq: 0, hash: GENESIS_HASH }
      let firstBroken: ChainBreak | null = null
      let checkedEvents = 0
      let head: AuditHead
      // The head is read after each walk: an append updates it in the event's own transaction, so
      // every event the walk saw is at or below it. Events past it were written around the chain;
      // a head past the walk means appends landed meanwhile (walk on) or the tail was deleted.
      for (;;) {
        let progressed = false
        for await (const event of walk(spaceId, {}, previous.seq)) {
          progressed = true
          checkedEvents += 1
          firstBroken ??= checkLink(previous, event)
          if (wanted.has(event.seq)) wanted.set(event.seq, event.hash)
          previous = { seq: event.seq, hash: event.hash }
        }
        head = (await store.readHead(db, spaceId)) ?? { seq: 0, hash: GENESIS_HASH }
        if (previous.seq < head.seq && progressed) continue
        if (previous.seq < head.seq) {
          firstBroken ??= { seq: previous.seq + 1, reason: `events ${previous.seq + 1} to ${head.seq} are missing from the end of the log` }
        } else if (previous.seq > head.seq) {
          firstBroken ??= { seq: head.seq + 1, reason: `event ${head.seq + 1} lies beyond the recorded head of the chain: it was inserted` }
        } else if (previous.hash !== head.hash) {
          firstBroken ??= { seq: head.seq, reason: `the recorded head does not match event ${head.seq}` }
        }
        break
      }

      const keptKeys = checkpoints.some((checkpoint) => checkpoint.keyId !== signer.keyId)
        ? new Map((await store.listSigningKeys(db)).map((key) => [key.keyId, key.publicKeyPem]))
        : undefined
      const results: CheckpointResult[] = checkpoints.map((checkpoint) => {
        const badSignature = signer.check(checkpoint, keptKeys)
        if (badSignature) return { seq: checkpoint.seq, ok: false, reason: badSignature }
        if (checkpoint.space !== spaceId) {
          return { seq: checkpoint.seq, ok: false, reason: `checkpoint belongs to space '${checkpoint.space}'` }
        }
        const stored = wanted.get(checkpoint.seq)
        if (stored === undefined) {
          return {
            seq: checkpoint.seq,
            ok: false,
            reason: `the log ends at event ${previous.seq} but this signed checkpoint covers event ${checkpoint.seq}: events were deleted`,
          }
        }
        if (stored !== checkpoint.hash) {
          return {
            seq: checkpoint.seq,
            ok: false,
            reason: `event ${checkpoint.seq} differs from the signed checkpoint: the log was rewritten at or before event ${checkpoint.seq}`,
          }
        }
        if (firstBroken && firstBroken.seq <= checkpoint.seq) {
          return { seq: checkpoint.seq, ok: false, reason: `the chain is broken at event ${firstBroken.seq}, at or before this checkpoint` }
        }
        return { seq: checkpoint.seq, ok: true }
      })

      return {
        ok: !firstBroken && results.every((result) => result.ok),
        space: spaceId,
        checkedEvents,
        head,
        firstBroken,
        checkpoints: results,
      }
    },

    /**
     * Signs the current head and keeps a copy; the copies that matter are the ones kept elsewhere.
     * Only with the database's current key: a node still holding a key that another node's start
     * rotated away from refuses (and registers its key when the database has none yet, as a store
     * set up without `adoptAuditKey` has). The key row stays locked until the copy is stored.
     */
    async checkpoint(spaceId: string): Promise<SignedCheckpoint> {
      return db.transaction(async (tx) => {
        let current = await store.lockCurrentSigningKey(tx)
        if (current === null && (await store.addCurrentSigningKey(tx, signer.keyId, signer.publicKeyPem))) current = signer.keyId
        if (current !== signer.keyId) {
          throw new AppError(
            'unavailable',
            `this node's audit signing key (key id ${signer.keyId}) is not the database's current one (${current ?? 'none'}): restart it with the current key file`,
          )
        }
        const head = (await store.readHead(tx, spaceId)) ?? { seq: 0, hash: GENESIS_HASH }
        const signed = signer.sign({ space: spaceId, seq: head.seq, hash: head.hash, time: clock().toISOString() })
        await store.insertCheckpoint(tx, signed)
        return signed
      })
    },

    listCheckpoints: (spaceId: string, limit: number) => store.listCheckpoints(db, spaceId, limit),

    signingKey: () => ({ keyId: signer.keyId, algorithm: 'Ed25519' as const, publicKeyPem: signer.publicKeyPem }),
  }
}

export type AuditService = ReturnType<typeof createAuditService>
