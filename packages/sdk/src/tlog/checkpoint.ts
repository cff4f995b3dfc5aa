import type { KeyObject } from 'node:crypto'
import { HASH_SIZE, verifyConsistency, verifyInclusion, type ProofCheck } from './merkle.js'
import { decodeBase64, encodeBase64, openNote, parseNote, signNote, TlogError, type VerifierKey } from './note.js'

/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the text of a signed note made of the
 * log's origin, its tree size in decimal and its base64 root hash, one per line, then optional
 * non-empty extension lines.
 */
export interface Checkpoint {
  origin: string
  treeSize: number
  rootHash: Uint8Array
  /** Extension lines, without their newlines; usually none. */
  extensions: string[]
}

function checkLine(line: string, what: string): void {
  if (line.length === 0) throw new TlogError(`the checkpoint ${what} is empty`)
  if (/[\u0000-\u001f\u007f]/.test(line)) throw new TlogError(`the checkpoint ${what} holds a newline or control character`)
}

/** The note text (body) of a checkpoint, ending with a newline. */
export function formatCheckpoint(checkpoint: { origin: string; treeSize: number; rootHash: Uint8Array; extensions?: readonly string[] }): string {
  checkLine(checkpoint.origin, 'origin')
  if (!Number.isSafeInteger(checkpoint.treeSize) || checkpoint.treeSize < 0) throw new TlogError('the tree size must be a non-negative safe integer')
  if (checkpoint.rootHash.length !== HASH_SIZE) throw new TlogError(`the root hash must be ${HASH_SIZE} bytes`)
  const extensions = checkpoint.extensions ?? []
  extensions.forEach((line, i) => checkLine(line, `extension line ${i + 1}`))
  return [checkpoint.origin, String(checkpoint.treeSize), encodeBase64(checkpoint.rootHash), ...extensions].map((line) => `${line}\n`).join('')
}

function parseBody(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new TlogError('the checkpoint must end with a newline')
  const lines = text.slice(0, -1).split('\n')
  const [origin, size, root, ...extensions] = lines
  if (origin === undefined || size === undefined || root === undefined) throw new TlogError('a checkpoint has at least three lines')
  checkLine(origin, 'origin')
  extensions.forEach((line, i) => checkLine(line, `extension line ${i + 1}`))
  // Decimal without sign, spaces or leading zeros; this SDK reads sizes up to 2^53 - 1, below the
  // spec's 2^64 - 1, and refuses larger ones rather than round them.
  if (!/^(?:0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) {
    throw new TlogError(`the checkpoint tree size ${JSON.stringify(size)} is not a decimal without leading zeros below 2^53`)
  }
  const rootHash = decodeBase64(root, 'the checkpoint root hash')
  if (rootHash.length !== HASH_SIZE) throw new TlogError(`the checkpoint root hash is not ${HASH_SIZE} bytes`)
  return { origin, treeSize: Number(size), rootHash, extensions }
}

/**
 * Reads a checkpoint WITHOUT checking any signature: accepts the body alone or a whole signed note
 * (whose signature lines must still be well formed). Trust nothing from it before verifyCheckpoint.
 */
export function parseCheckpoint(note: string): Checkpoint {
  return parseBody(note.includes('\n\n') ? parseNote(note).text : note)
}

/** Signs a checkpoint body as a note by `name` (for a log, usually its origin). */
export function signCheckpoint(body: string, name: string, privateKey: KeyObject): string {
  parseBody(body)
  return signNote(body, name, privateKey)
}

/**
 * Verifies a checkpoint note with one verifier key (`<name>+<hex id>+<base64 key>`) and returns
 * what it states. Throws TlogError when the note is malformed, has no valid signature by that key,
 * or (when `options.origin` is given, as it should be) names another log.
 */
export function verifyCheckpoint(note: string | Uint8Array, vkey: string | VerifierKey, options: { origin?: string } = {}): Checkpoint {
  const checkpoint = parseBody(openNote(note, vkey))
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new TlogError(`the checkpoint is for ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(options.origin)}`)
  }
  return checkpoint
}

/**
 * An inclusion proof checked against a verified checkpoint. Prefer this to verifyInclusion: the
 * tree size and root come together from one signed checkpoint, so they cannot be mismatched (a
 * proof made for size n verifies against size m ≠ n if it is given size n's root; only the
 * signature binds a root to its size).
 */
export function checkInclusion(checkpoint: Checkpoint, leaf: Uint8Array, index: number, proof: readonly Uint8Array[]): ProofCheck {
  return verifyInclusion(leaf, index, checkpoint.treeSize, proof, checkpoint.rootHash)
}

/** A consistency proof checked between two verified checkpoints of the same log, older first. */
export function checkConsistency(older: Checkpoint, newer: Checkpoint, proof: readonly Uint8Array[]): ProofCheck {
  if (older.origin !== newer.origin) return { ok: false, reason: `the checkpoints are of different logs (${older.origin}, ${newer.origin})` }
  return verifyConsistency(older.treeSize, newer.treeSize, proof, older.rootHash, newer.rootHash)
}
