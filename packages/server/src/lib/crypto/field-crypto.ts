import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import { AppError } from '../../http/errors.js'

/**
 * Field-level encryption and blind indexes: pure functions, no I/O. Keys come from the key service
 * (modules/keys); this file only knows bytes.
 *
 * A sealed value is `format (1) ‖ key version (4, uint32 BE) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`,
 * AES-256-GCM with a random 96-bit nonce. The GCM associated data is the 5-byte header followed by
 * the caller's `aad` (see `fieldAad`): changing the version byte, or moving the ciphertext to another
 * row or field, fails the tag.
 */
export const SEALED_FORMAT_V1 = 0x01
const HEADER_BYTES = 5
const NONCE_BYTES = 12
const TAG_BYTES = 16
const KEY_BYTES = 32

/** The stable error code of a ciphertext that does not open: wrong row/field, altered bytes, unknown key version. */
export const INTEGRITY_ERROR_CODE = 'integrity_failed' as const

const integrityError = (why: string) => new AppError(INTEGRITY_ERROR_CODE, `an encrypted value failed its integrity check (${why}); nothing was decrypted`)

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new Error(`an AES-256-GCM key is ${KEY_BYTES} bytes, got ${key.length}`)
}

/** Plain AES-256-GCM, exposed only so its known-answer test can run against the published vectors. */
export function aes256GcmSeal(key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): { ciphertext: Buffer; tag: Buffer } {
  checkKey(key)
  if (nonce.length !== NONCE_BYTES) throw new Error(`the nonce is ${NONCE_BYTES} bytes, got ${nonce.length}`)
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { ciphertext, tag: cipher.getAuthTag() }
}

/** Opens AES-256-GCM; undefined when the tag does not verify (never partial plaintext). */
export function aes256GcmOpen(key: Buffer, nonce: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): Buffer | undefined {
  checkKey(key)
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(aad)
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(ciphertext), decipher.final()])
  } catch {
    return undefined
  }
}

function header(keyVersion: number): Buffer {
  if (!Number.isInteger(keyVersion) || keyVersion < 1 || keyVersion > 0xffff_ffff) throw new Error(`a key version is a whole number from 1 to 2^32-1, got ${keyVersion}`)
  const out = Buffer.alloc(HEADER_BYTES)
  out[0] = SEALED_FORMAT_V1
  out.writeUInt32BE(keyVersion, 1)
  return out
}

/** `encryptValue` with a given nonce: only for known-answer tests. A nonce must never repeat under one key. */
export function encryptValueWithNonce(key: Buffer, plaintext: Buffer, aad: Buffer, keyVersion: number, nonce: Buffer): Buffer {
  const head = header(keyVersion)
  const { ciphertext, tag } = aes256GcmSeal(key, nonce, plaintext, Buffer.concat([head, aad]))
  return Buffer.concat([head, nonce, ciphertext, tag])
}

/** Seals `plaintext` under `key` (the data key of version `keyVersion`), bound to `aad`. */
export function encryptValue(key: Buffer, plaintext: Buffer, aad: Buffer, keyVersion: number): Buffer {
  return encryptValueWithNonce(key, plaintext, aad, keyVersion, randomBytes(NONCE_BYTES))
}

/** The data key version a sealed value was made with (to find its key, or to re-encrypt old ones). */
export function keyVersionOf(sealed: Buffer): number {
  if (sealed.length < HEADER_BYTES + NONCE_BYTES + TAG_BYTES || sealed[0] !== SEALED_FORMAT_V1) throw integrityError('not a sealed value of a known format')
  return sealed.readUInt32BE(1)
}

/**
 * Opens a sealed value with the key of its version. Throws `integrity_failed` (an AppError) when the
 * format is unknown, the version has no key, or the tag does not verify: it never returns garbage.
 */
export function decryptValue(keyFor: (version: number) => Buffer | undefined, sealed: Buffer, aad: Buffer): Buffer {
  const version = keyVersionOf(sealed)
  const key = keyFor(version)
  if (!key) throw integrityError(`no data key of version ${version}`)
  const head = sealed.subarray(0, HEADER_BYTES)
  const nonce = sealed.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES)
  const ciphertext = sealed.subarray(HEADER_BYTES + NONCE_BYTES, sealed.length - TAG_BYTES)
  const tag = sealed.subarray(sealed.length - TAG_BYTES)
  const plain = aes256GcmOpen(key, nonce, ciphertext, tag, Buffer.concat([head, aad]))
  if (!plain) throw integrityError('the tag does not match: altered, or moved from another row or field')
  return plain
}

/**
 * The associated data binding a value to its place: a domain tag, then space, model, field and
 * primary key, each as uint32 BE byte length + UTF-8 bytes, so no two places encode alike
 * (`("ab","c")` and `("a","bc")` differ).
 */
export function fieldAad(spaceId: string, model: string, field: string, primaryKey: string): Buffer {
  return lengthPrefixed(['gatehouse/field/v1', spaceId, model, field, primaryKey])
}

export function lengthPrefixed(parts: readonly string[]): Buffer {
  const chunks: Buffer[] = []
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8')
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    chunks.push(length, bytes)
  }
  return Buffer.concat(chunks)
}

/**
 * A blind index: HMAC-SHA-256 of the normalised value under the field's index key, truncated to
 * `bits` (ceil(bits/8) bytes, the unused low bits of the last byte zeroed). Equal values give equal
 * indexes; a short index makes distinct values collide on purpose (see `blindIndexBits`).
 */
export function blindIndex(key: Buffer, normalised: string, bits: number): Buffer {
  if (!Number.isInteger(bits) || bits < 1 || bits > 256) throw new Error(`a blind index is 1 to 256 bits, got ${bits}`)
  const mac = createHmac('sha256', key).update(normalised, 'utf8').digest()
  const bytes = Math.ceil(bits / 8)
  const out = Buffer.from(mac.subarray(0, bytes))
  const spare = bytes * 8 - bits
  if (spare > 0) out[bytes - 1]! &= (0xff << spare) & 0xff
  return out
}

export const MIN_BLIND_INDEX_BITS = 8
export const MAX_BLIND_INDEX_BITS = 256

/**
 * CipherSweet's sizing rule for a blind index over `r` expected rows: the expected number of other
 * rows sharing a value's index, r / 2^L, must be at least 2 (so an index never singles out one
 * row: frequency analysis of a dump sees buckets, not values) and below √r (so a lookup still
 * narrows to few rows). That is log2(r)/2 < L ≤ log2(r) − 1; the most selective choice,
 * L = ⌊log2 r⌋ − 1, is taken. Clamped to [8, 256]: under ~512 expected rows 8 bits is below the
 * rule's bound (fewer than 2 false positives per lookup) — declare the rows a model will grow to.
 */
export function blindIndexBits(expectedRows: number): number {
  const rows = Number.isFinite(expectedRows) && expectedRows > 1 ? Math.floor(expectedRows) : 1
  // ⌊log2 r⌋ exactly: Math.log2 rounds up just below a power of two (2^50 − 2 gives 50).
  let log2 = Math.floor(Math.log2(rows))
  if (2 ** log2 > rows) log2 -= 1
  else if (2 ** (log2 + 1) <= rows) log2 += 1
  const bits = log2 - 1
  return Math.min(MAX_BLIND_INDEX_BITS, Math.max(MIN_BLIND_INDEX_BITS, bits))
}
