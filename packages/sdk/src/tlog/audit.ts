import { createHash } from 'node:crypto'
import { checkConsistency, checkInclusion, verifyCheckpoint, type Checkpoint } from './checkpoint.js'
import { leafHash, type ProofCheck } from './merkle.js'
import { decodeBase64, encodeBase64, TlogError, type VerifierKey } from './note.js'
import { appendLeaves, foldRange } from './ranges.js'
import { emptyRoot } from './merkle.js'

/**
 * Gatehouse's audit log as a verifiable log, checked offline with only the log's verifier key:
 * what a leaf is (the bytes the server hashes for an event), and checks of inclusion proofs,
 * consistency proofs and whole NDJSON exports against signed checkpoints.
 */

/** An audit event as the REST API and its NDJSON export give it (the fields these checks read). */
export interface AuditLogEvent {
  id: string
  space: string
  seq: number
  time: string
  actor: unknown
  event: string
  resources: unknown
  meta: unknown
  /** Hex SHA-256 leaf hash, as the server stored it. */
  leafHash?: string
  /** Only events written before the log became a Merkle tree: the old hash chain. */
  prevHash?: string
  hash?: string
}

/** `GET …/audit/proof/inclusion`: the audit path of leaf `leafIndex` (= seq − 1), base64 hashes. */
export interface InclusionProofWire {
  leafIndex: number
  treeSize: number
  hashes: string[]
}

/** `GET …/audit/proof/consistency`: from the tree of `from` leaves to the tree of `to` leaves. */
export interface ConsistencyProofWire {
  from: number
  to: number
  hashes: string[]
}

/**
 * RFC 8785 JSON Canonicalization Scheme for JSON data (what JSON.parse returns): keys sorted by
 * UTF-16 code units, ECMAScript number and string forms, no whitespace.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TlogError('JSON has no form for a non-finite number')
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`
  if (typeof value === 'object') {
    const withJson = value as { toJSON?: () => unknown }
    if (typeof withJson.toJSON === 'function') return canonicalJson(withJson.toJSON())
    const record = value as Record<string, unknown>
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`
  }
  throw new TlogError(`JSON has no form for a ${typeof value}`)
}

/**
 * The leaf of an event: UTF-8 of the canonical JSON of `{ v: 1, id, space, time, actor, event,
 * resources, meta }`. Not `seq` (assigned after the event committed) nor the old chain's hashes;
 * `space` so that an event of one space cannot be replayed into another's log.
 */
export function auditLeafBytes(event: Pick<AuditLogEvent, 'id' | 'space' | 'time' | 'actor' | 'event' | 'resources' | 'meta'>): Uint8Array {
  const { id, space, time, actor, event: name, resources, meta } = event
  return new Uint8Array(Buffer.from(canonicalJson({ v: 1, id, space, time, actor, event: name, resources, meta }), 'utf8'))
}

export const auditLeafHash = (event: Parameters<typeof auditLeafBytes>[0]): Uint8Array => leafHash(auditLeafBytes(event))

/** The origin (log name) of a space's log: `<log name>/spaces/<space id>`. */
export const auditOrigin = (logName: string, spaceId: string): string => `${logName}/spaces/${spaceId}`

const hashes = (list: unknown): Uint8Array[] | null => {
  if (!Array.isArray(list)) return null
  try {
    return list.map((h) => decodeBase64(String(h), 'a proof hash'))
  } catch {
    return null
  }
}

const originOf = (checkpoint: Checkpoint) => checkpoint.origin

function verified(note: string, vkey: string | VerifierKey, origin: string | undefined): Checkpoint | string {
  try {
    return verifyCheckpoint(note, vkey, origin === undefined ? {} : { origin })
  } catch (error) {
    if (error instanceof TlogError) return `checkpoint refused: ${error.message}`
    throw error
  }
}

/**
 * Does this event, in hand, belong to the log the checkpoint signs? Recomputes the event's leaf
 * from its content (a leafHash field in it is not trusted), checks the checkpoint's signature with
 * `vkey`, that it is the log of the event's space, that the proof is for this event's position and
 * the checkpoint's size, and that the proof leads to the signed root. Never throws on bad input.
 */
export function verifyInclusionProof(event: AuditLogEvent, proof: InclusionProofWire, checkpointNote: string, vkey: string | VerifierKey): ProofCheck {
  const checkpoint = verified(checkpointNote, vkey, undefined)
  if (typeof checkpoint === 'string') return { ok: false, reason: checkpoint }
  if (!originOf(checkpoint).endsWith(`/spaces/${event.space}`)) return { ok: false, reason: `the checkpoint is of log ${checkpoint.origin}, not of space ${event.space}` }
  if (!Number.isSafeInteger(event.seq) || event.seq < 1) return { ok: false, reason: 'the event has no sequence number: it is still pending' }
  if (proof.leafIndex !== event.seq - 1) return { ok: false, reason: `the proof is for leaf ${proof.leafIndex}, not for event ${event.seq} (leaf ${event.seq - 1})` }
  if (proof.treeSize !== checkpoint.treeSize) return { ok: false, reason: `the proof is for tree size ${proof.treeSize}, the checkpoint signs size ${checkpoint.treeSize}` }
  const path = hashes(proof.hashes)
  if (!path) return { ok: false, reason: 'the proof hashes are not base64' }
  let leaf: Uint8Array
  try {
    leaf = auditLeafHash(event)
  } catch (error) {
    return { ok: false, reason: `the event cannot be canonicalised: ${(error as Error).message}` }
  }
  return checkInclusion(checkpoint, leaf, event.seq - 1, path)
}

/**
 * Does the newer checkpoint's log extend the older one's? Both must be signed by `vkey`, of the
 * same log, and the proof must be for exactly their two sizes.
 */
export function verifyConsistencyProof(olderNote: string, newerNote: string, proof: ConsistencyProofWire, vkey: string | VerifierKey): ProofCheck {
  const older = verified(olderNote, vkey, undefined)
  if (typeof older === 'string') return { ok: false, reason: `older ${older}` }
  const newer = verified(newerNote, vkey, older.origin)
  if (typeof newer === 'string') return { ok: false, reason: `newer ${newer}` }
  if (proof.from !== older.treeSize || proof.to !== newer.treeSize) {
    return { ok: false, reason: `the proof is from size ${proof.from} to ${proof.to}, the checkpoints sign sizes ${older.treeSize} and ${newer.treeSize}` }
  }
  if (older.treeSize > newer.treeSize) return { ok: false, reason: `the older checkpoint (size ${older.treeSize}) is larger than the newer (size ${newer.treeSize})` }
  const path = hashes(proof.hashes)
  if (!path) return { ok: false, reason: 'the proof hashes are not base64' }
  return checkConsistency(older, newer, path)
}

export interface ExportReport {
  ok: boolean
  /** Events read, and the tree they make. */
  events: number
  treeSize: number
  rootHash: string
  /** The first event that is wrong, and why. */
  firstBad: { seq: number; reason: string } | null
  checkpoints: Array<{ treeSize: number; ok: boolean; reason?: string }>
}

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex')
const GENESIS = '0'.repeat(64)

/**
 * Checks a whole export (the NDJSON of `GET …/audit:export` without filters, parsed line by line)
 * against signed checkpoints: the sequence starts at 1 with no gap, every event's content gives its
 * leaf (and its stored leafHash, when present), the events written before the Merkle tree still
 * chain (prevHash/hash), and the tree they build has each checkpoint's root at its size. A
 * checkpoint past the end of the export is reported as not covered (events deleted, or an export
 * older than the checkpoint).
 */
export async function verifyExport(events: Iterable<AuditLogEvent> | AsyncIterable<AuditLogEvent>, checkpointNotes: readonly string[], vkey: string | VerifierKey): Promise<ExportReport> {
  const results = new Map<number, { treeSize: number; ok: boolean; reason?: string }>()
  const wanted = new Map<number, Array<{ checkpoint: Checkpoint; slot: { treeSize: number; ok: boolean; reason?: string } }>>()
  const ordered: Array<{ treeSize: number; ok: boolean; reason?: string }> = []
  let origin: string | undefined
  for (const note of checkpointNotes) {
    const checkpoint = verified(note, vkey, origin)
    if (typeof checkpoint === 'string') {
      ordered.push({ treeSize: -1, ok: false, reason: checkpoint })
      continue
    }
    origin ??= checkpoint.origin
    const slot = { treeSize: checkpoint.treeSize, ok: false, reason: 'not covered by the export' as string | undefined }
    ordered.push(slot)
    results.set(checkpoint.treeSize, slot)
    wanted.set(checkpoint.treeSize, [...(wanted.get(checkpoint.treeSize) ?? []), { checkpoint, slot }])
  }
  const settle = (size: number, root: Uint8Array) => {
    for (const { checkpoint, slot } of wanted.get(size) ?? []) {
      const same = Buffer.from(checkpoint.rootHash).equals(Buffer.from(root))
      slot.ok = same && firstBad === null
      slot.reason = !same
        ? `the export's tree of ${size} events does not have the signed root: the log was rewritten at or before event ${size}`
        : firstBad
          ? `the export is wrong at event ${firstBad.seq}, within this checkpoint`
          : undefined
      if (slot.reason === undefined) delete slot.reason
    }
  }

  let firstBad: { seq: number; reason: string } | null = null
  let size = 0
  let frontier: Uint8Array[] = []
  let chain: string | null = GENESIS
  settle(0, emptyRoot())
  for await (const event of events) {
    const seq = size + 1
    if (event.seq !== seq) firstBad ??= { seq, reason: event.seq > seq ? `event ${seq} is missing (the next is ${event.seq})` : `event ${event.seq} is out of order` }
    if (origin !== undefined && !origin.endsWith(`/spaces/${event.space}`)) firstBad ??= { seq, reason: `event ${seq} belongs to space ${event.space}, not to log ${origin}` }
    let leaf: Uint8Array
    try {
      leaf = auditLeafHash(event)
    } catch {
      leaf = new Uint8Array(32)
      firstBad ??= { seq, reason: `event ${seq} cannot be canonicalised` }
    }
    if (event.leafHash !== undefined && event.leafHash !== Buffer.from(leaf).toString('hex')) {
      firstBad ??= { seq, reason: `event ${seq} was altered: its content does not match its leaf hash` }
    }
    if (event.hash !== undefined && event.hash !== null) {
      // The hash chain of events written before the tree: each names the previous one's hash.
      const { hash, id, space, seq: eventSeq, time, actor, event: name, resources, meta, prevHash } = event
      const body = { id, space, seq: eventSeq, time, actor, event: name, resources, meta, prevHash }
      if (chain === null) firstBad ??= { seq, reason: `event ${seq} carries a chain hash after the chain ended` }
      else if (prevHash !== chain) firstBad ??= { seq, reason: `event ${seq} does not follow event ${seq - 1}: its prevHash differs` }
      else if (sha256Hex(canonicalJson(body)) !== hash) firstBad ??= { seq, reason: `event ${seq} was altered: its content does not match its chain hash` }
      chain = hash
    } else {
      chain = null
    }
    ;({ frontier } = appendLeaves(size, frontier, [leaf]))
    size = seq
    if (wanted.has(size)) settle(size, foldRange(frontier))
  }
  const root = size === 0 ? emptyRoot() : foldRange(frontier)
  for (const slot of results.values()) {
    if (slot.treeSize > size) slot.reason = `the export ends at event ${size} but this signed checkpoint covers ${slot.treeSize} events: events were deleted, or the export is older`
  }
  return {
    ok: firstBad === null && ordered.every((slot) => slot.ok),
    events: size,
    treeSize: size,
    rootHash: encodeBase64(root),
    firstBad,
    checkpoints: ordered,
  }
}
