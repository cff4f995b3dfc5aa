import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { GatehouseError } from '../errors.js'

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, read as strictly as Go's
 * golang.org/x/mod/sumdb/note and stricter where the spec leaves room: the text must end with a
 * newline, hold no blank line and no control character but newline; names are non-empty with no
 * space or `+`; base64 must be canonical; at most 100 signature lines.
 */

/** A note, checkpoint or verifier key that is malformed, unsigned by the expected key, or forged. */
export class TlogError extends GatehouseError {}

export interface VerifierKey {
  name: string
  /** The 4-byte key id, SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]. */
  keyId: Uint8Array
  /** The raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array
}

const ALG_ED25519 = 0x01
const SIG_PREFIX = '\u2014 '
const MAX_SIGNATURES = 100
const MAX_NOTE_BYTES = 1 << 20

/** Standard padded base64 (RFC 4648 §4) decoded only if canonical: re-encoding gives the same text. */
export function decodeBase64(text: string, what: string): Uint8Array {
  const bytes = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text) ? Buffer.from(text, 'base64') : undefined
  if (bytes === undefined || bytes.toString('base64') !== text) throw new TlogError(`${what} is not canonical base64`)
  return new Uint8Array(bytes)
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64')
}

/** A key name: non-empty, and neither whitespace nor `+` (which separates a verifier key's parts). */
export function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\p{Cc}\p{Zs}]/u.test(name)
}

function rawPublicKey(key: KeyObject | Uint8Array): Uint8Array {
  if (key instanceof Uint8Array) {
    if (key.length !== 32) throw new TlogError('an Ed25519 public key is 32 bytes')
    return key
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new TlogError('the key is not an Ed25519 key')
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' })
  if (typeof jwk.x !== 'string') throw new TlogError('the key has no public part')
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'))
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
}

/** The key id: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key). */
export function keyId(name: string, publicKey: KeyObject | Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, ALG_ED25519)).update(rawPublicKey(publicKey)).digest()
  return new Uint8Array(digest.subarray(0, 4))
}

/** The standard verifier key text, `<name>+<hex key id>+<base64(0x01 ‖ public key)>`. */
export function verifierKey(name: string, publicKey: KeyObject | Uint8Array): string {
  if (!isKeyName(name)) throw new TlogError(`key name ${JSON.stringify(name)} is empty or has a space or '+'`)
  const raw = rawPublicKey(publicKey)
  return `${name}+${Buffer.from(keyId(name, raw)).toString('hex')}+${encodeBase64(Uint8Array.of(ALG_ED25519, ...raw))}`
}

/** Reads a verifier key, checking its algorithm byte, length and that its id matches its name and key. */
export function parseVerifierKey(vkey: string): VerifierKey {
  // Names hold no '+', base64 may: split at the first two (as Go's note.NewVerifier does).
  const match = /^([^+]*)\+([^+]*)\+(.*)$/s.exec(vkey)
  const [, name, hexId, encoded] = match ?? []
  if (name === undefined || hexId === undefined || encoded === undefined) throw new TlogError('a verifier key is <name>+<hex key id>+<base64 key>')
  if (!isKeyName(name)) throw new TlogError('the verifier key name is empty or has a space')
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw new TlogError('the verifier key id is not 8 lowercase hex digits')
  const key = decodeBase64(encoded, 'the verifier key')
  if (key.length !== 33 || key[0] !== ALG_ED25519) throw new TlogError('the verifier key is not an Ed25519 key (0x01 and 32 bytes)')
  const publicKey = key.subarray(1)
  const id = keyId(name, publicKey)
  if (Buffer.from(id).toString('hex') !== hexId) throw new TlogError('the verifier key id does not match its name and key')
  return { name, keyId: id, publicKey }
}

function checkText(text: string): void {
  if (text.length === 0 || !text.endsWith('\n')) throw new TlogError('a note text must end with a newline')
  if (text.includes('\n\n') || text.startsWith('\n')) throw new TlogError('a note text must not have an empty line')
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) throw new TlogError('a note text must not hold control characters')
  if (Buffer.from(text, 'utf8').toString('utf8') !== text) throw new TlogError('a note text must be valid UTF-8')
}

/** Signs `text` as a note: the text, a blank line, `— <name> <base64(key id ‖ signature)>`. */
export function signNote(text: string, name: string, privateKey: KeyObject): string {
  checkText(text)
  if (!isKeyName(name)) throw new TlogError(`key name ${JSON.stringify(name)} is empty or has a space or '+'`)
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') throw new TlogError('the signing key is not an Ed25519 private key')
  const signature = sign(null, Buffer.from(text, 'utf8'), privateKey)
  return `${text}\n${SIG_PREFIX}${name} ${encodeBase64(Uint8Array.of(...keyId(name, privateKey), ...signature))}\n`
}

export interface NoteSignature {
  name: string
  keyId: Uint8Array
  signature: Uint8Array
}

/** Splits a note into its text and signature lines, checking syntax only: nothing is verified. */
export function parseNote(note: string | Uint8Array): { text: string; signatures: NoteSignature[] } {
  let message: string
  if (typeof note === 'string') message = note
  else {
    try {
      message = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note)
    } catch {
      throw new TlogError('a note must be valid UTF-8')
    }
  }
  if (Buffer.byteLength(message, 'utf8') > MAX_NOTE_BYTES) throw new TlogError('the note is larger than 1 MiB')
  const split = message.lastIndexOf('\n\n')
  if (split < 0) throw new TlogError('the note has no blank line before its signatures')
  const text = message.slice(0, split + 1)
  checkText(text)
  const block = message.slice(split + 2)
  if (!block.endsWith('\n')) throw new TlogError('the signature block must end with a newline')
  const lines = block.slice(0, -1).split('\n')
  if (lines.length > MAX_SIGNATURES) throw new TlogError(`the note has more than ${MAX_SIGNATURES} signatures`)
  const signatures = lines.map((line, i) => {
    const match = line.startsWith(SIG_PREFIX) ? /^(\S+) (\S+)$/u.exec(line.slice(SIG_PREFIX.length)) : null
    const [, name, encoded] = match ?? []
    if (name === undefined || encoded === undefined || !isKeyName(name)) throw new TlogError(`signature line ${i + 1} is not '— <name> <base64>'`)
    const bytes = decodeBase64(encoded, `signature line ${i + 1}`)
    if (bytes.length < 5) throw new TlogError(`signature line ${i + 1} is too short`)
    return { name, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) }
  })
  return { text, signatures }
}

/**
 * Verifies a note against one verifier key and returns its text. Lines by other keys are ignored
 * (as the spec requires); a line by this key (same name and id) that does not verify rejects the
 * note, and so does a note with no line by this key.
 */
export function openNote(note: string | Uint8Array, vkey: string | VerifierKey): string {
  const key = typeof vkey === 'string' ? parseVerifierKey(vkey) : vkey
  const { text, signatures } = parseNote(note)
  const mine = signatures.filter((s) => s.name === key.name && Buffer.from(s.keyId).equals(key.keyId))
  if (mine.length === 0) throw new TlogError(`the note has no signature by ${key.name}+${Buffer.from(key.keyId).toString('hex')}`)
  const publicKey = publicKeyObject(key.publicKey)
  for (const s of mine) {
    if (s.signature.length !== 64 || !verify(null, Buffer.from(text, 'utf8'), publicKey, s.signature)) {
      throw new TlogError(`invalid signature by ${key.name}`)
    }
  }
  return text
}
