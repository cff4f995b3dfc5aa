import { appendLeaves, auditLeafHash, emptyRoot, foldRange, parseVerifierKey, verifyCheckpoint, verifierKey, TlogError, type Checkpoint } from '@gatehouse/sdk'
import { createPublicKey } from 'node:crypto'
import type { Db } from '../../db/db.js'
import { checkLink, GENESIS_HASH } from './audit-chain.js'
import type { CheckpointSigner } from './audit-signer.js'
import type { AuditStore } from './audit-store.js'
import type { AuditEvent, AuditHead, ChainBreak, CheckpointResult, SignedCheckpoint, VerifyReport } from './audit-types.js'
import { rootOf } from './audit-sequencer.js'

const PAGE = 1000
type NoteResult = VerifyReport['notes'][number]

/**
 * Walks a space's whole log, oldest first, and reports the first event that is wrong: a gap, an
 * event whose content does not give its stored leaf hash, a broken link of the old hash chain (the
 * events before migration 0007), a tree whose rebuilt root is not the stored head's. Then checks
 * signed checkpoints: C2SP notes (given, and the latest the database keeps) must have the rebuilt
 * tree's root at their size; the old chain's JSON checkpoints must match the chain. Only a
 * checkpoint kept outside the database catches a rewrite of the whole tail with every hash and the
 * head recomputed. Queued events are counted as pending, not checked and not a failure.
 */
export function createVerifier({ db, store, signer, logName }: { db: Db; store: AuditStore; signer: CheckpointSigner; logName: string }) {
  async function vkeys(): Promise<string[]> {
    const keys = await store.listSigningKeys(db)
    const own = signer.verifierKey(logName)
    return [own, ...keys.filter((key) => key.keyId !== signer.keyId).map((key) => verifierKey(logName, createPublicKey(key.publicKeyPem)))]
  }

  function openNote(note: string, keys: string[], origin: string): Checkpoint | string {
    let last = 'no signature by a key this server keeps'
    for (const key of keys) {
      try {
        return verifyCheckpoint(note, parseVerifierKey(key), { origin })
      } catch (error) {
        if (!(error instanceof TlogError)) throw error
        last = error.message
      }
    }
    return `checkpoint refused: ${last}`
  }

  return async function verify(spaceId: string, checkpoints: SignedCheckpoint[], notes: string[]): Promise<VerifyReport> {
    const origin = `${logName}/spaces/${spaceId}`
    const stored = await store.listLogCheckpoints(db, spaceId, null, 10)
    const keys = notes.length > 0 || stored.length > 0 ? await vkeys() : []
    const opened = [...notes, ...stored.map((checkpoint) => checkpoint.note)].map((note) => openNote(note, keys, origin))
    const noteResults: NoteResult[] = opened.map((checkpoint) =>
      typeof checkpoint === 'string' ? { treeSize: -1, ok: false, reason: checkpoint } : { treeSize: checkpoint.treeSize, ok: false, reason: 'not reached' },
    )
    const bySize = new Map<number, number[]>()
    opened.forEach((checkpoint, i) => {
      if (typeof checkpoint !== 'string') bySize.set(checkpoint.treeSize, [...(bySize.get(checkpoint.treeSize) ?? []), i])
    })

    const chainEnd = (await store.readHead(db, spaceId))?.chainEnd ?? 0
    const chainSeqs = new Map<number, string | undefined>(checkpoints.map((checkpoint) => [checkpoint.seq, undefined]))
    if (chainSeqs.has(0)) chainSeqs.set(0, GENESIS_HASH)
    let firstBroken: ChainBreak | null = null
    let chain: AuditHead = { seq: 0, hash: GENESIS_HASH }
    let size = 0
    let lastSeq = 0
    let frontier: Uint8Array[] = []
    const settle = () => {
      const root = size === 0 ? emptyRoot() : foldRange(frontier)
      for (const i of bySize.get(size) ?? []) {
        const checkpoint = opened[i] as Checkpoint
        const same = Buffer.from(checkpoint.rootHash).equals(Buffer.from(root))
        noteResults[i] = same
          ? firstBroken
            ? { treeSize: size, ok: false, reason: `the log is broken at event ${firstBroken.seq}, within this checkpoint` }
            : { treeSize: size, ok: true }
          : { treeSize: size, ok: false, reason: `the log's first ${size} events differ from the signed checkpoint: the log was rewritten at or before event ${size}` }
      }
    }
    settle()
    let head: Awaited<ReturnType<AuditStore['readHead']>>
    // The head is read after each walk: the sequencer moves it in the batch's own transaction, so
    // every event the walk saw is at or below it. A head past the walk means a batch landed
    // meanwhile (walk on: its events are committed and visible now) or the tail was deleted — told
    // apart by reading the head again after the next walk: a head that did not move while a walk
    // still stopped short of it is a deleted tail. (A walk that saw nothing because the batch
    // landed just after it began is the first case, not the second.)
    let headSeqBefore = -1
    let pending = 0
    for (;;) {
      for (;;) {
        const page: AuditEvent[] = await store.pageAfter(db, spaceId, {}, lastSeq, PAGE)
        for (const event of page) {
          const seq = size + 1
          if (event.seq !== seq) {
            firstBroken ??= { seq, reason: event.seq > seq ? `event ${seq} is missing (the next stored event is ${event.seq})` : `event ${event.seq} is out of order` }
          }
          const leaf = auditLeafHash(event)
          if (event.leafHash !== undefined && event.leafHash !== Buffer.from(leaf).toString('hex')) {
            firstBroken ??= { seq: event.seq, reason: `event ${event.seq} was altered: its content does not match its leaf hash` }
          }
          if (event.seq <= chainEnd) {
            const link = event.hash === undefined ? { seq: event.seq, reason: `event ${event.seq} of the old hash chain lost its chain hash` } : checkLink(chain, { ...event, prevHash: event.prevHash!, hash: event.hash })
            firstBroken ??= link
            chain = { seq: event.seq, hash: event.hash ?? '' }
            if (chainSeqs.has(event.seq)) chainSeqs.set(event.seq, event.hash)
          }
          frontier = appendLeaves(size, frontier, [leaf]).frontier
          // After a gap the tree is still built leaf by leaf: what is wrong was reported above.
          size += 1
          lastSeq = event.seq
          settle()
        }
        if (page.length < PAGE) break
      }
      // Queued events are counted before the head is read again: a batch integrated after the walk
      // leaves the queue and moves the head in one transaction, so it is either still counted as
      // pending or seen past the walk here (and walked) — never in neither, as when the queue was
      // counted last (a report with nothing checked and nothing pending, CI saw it).
      pending = await store.pendingCount(db, spaceId)
      head = await store.readHead(db, spaceId)
      const headSeq = head?.seq ?? 0
      if (lastSeq >= headSeq || headSeq === headSeqBefore) break
      headSeqBefore = headSeq
    }

    const treeSize = head?.treeSize ?? 0
    const seqHead = head?.seq ?? 0
    const root = size === 0 ? emptyRoot() : foldRange(frontier)
    if (lastSeq < seqHead) firstBroken ??= { seq: lastSeq + 1, reason: `events ${lastSeq + 1} to ${seqHead} are missing from the end of the log` }
    else if (lastSeq > seqHead) firstBroken ??= { seq: seqHead + 1, reason: `event ${seqHead + 1} lies beyond the recorded head of the log: it was inserted` }
    else if (treeSize === size && !Buffer.from(rootOf(head?.frontier ?? [])).equals(Buffer.from(root))) {
      firstBroken ??= { seq: size, reason: `the recorded tree head does not match the events: an event or the head was altered` }
    }
    if (head && chainEnd > 0 && chain.seq === chainEnd && chain.hash !== head.chainHash) {
      firstBroken ??= { seq: chainEnd, reason: `the recorded head of the old hash chain does not match event ${chainEnd}` }
    }
    for (const result of noteResults) {
      if (result.reason === 'not reached') result.reason = `the log ends at event ${size} but this signed checkpoint covers ${result.treeSize} events: events were deleted`
    }

    const keptKeys = checkpoints.some((checkpoint) => checkpoint.keyId !== signer.keyId)
      ? new Map((await store.listSigningKeys(db)).map((key) => [key.keyId, key.publicKeyPem]))
      : undefined
    const results: CheckpointResult[] = checkpoints.map((checkpoint) => {
      const badSignature = signer.check(checkpoint, keptKeys)
      if (badSignature) return { seq: checkpoint.seq, ok: false, reason: badSignature }
      if (checkpoint.space !== spaceId) return { seq: checkpoint.seq, ok: false, reason: `checkpoint belongs to space '${checkpoint.space}'` }
      const hash = chainSeqs.get(checkpoint.seq)
      if (hash === undefined) {
        return {
          seq: checkpoint.seq,
          ok: false,
          reason:
            checkpoint.seq > chainEnd
              ? `the old hash chain ends at event ${chainEnd} but this signed checkpoint covers event ${checkpoint.seq}: events were deleted`
              : `event ${checkpoint.seq} is missing: events were deleted`,
        }
      }
      if (hash !== checkpoint.hash) {
        return { seq: checkpoint.seq, ok: false, reason: `event ${checkpoint.seq} differs from the signed checkpoint: the log was rewritten at or before event ${checkpoint.seq}` }
      }
      if (firstBroken && firstBroken.seq <= checkpoint.seq) {
        return { seq: checkpoint.seq, ok: false, reason: `the log is broken at event ${firstBroken.seq}, at or before this checkpoint` }
      }
      return { seq: checkpoint.seq, ok: true }
    })

    return {
      ok: !firstBroken && results.every((result) => result.ok) && noteResults.every((result) => result.ok),
      space: spaceId,
      checkedEvents: size,
      pending,
      head: { seq: size, hash: Buffer.from(root).toString('hex') },
      firstBroken,
      checkpoints: results,
      notes: noteResults.slice(0, notes.length).concat(noteResults.slice(notes.length)),
    }
  }
}
