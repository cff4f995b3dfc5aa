import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'

/*
 * The vault's field encryption. A value is AES-256-GCM ciphertext under the space's data key, with
 * a random 96-bit nonce; the record's space, model, field and primary key are its associated data,
 * so a ciphertext moved to another row or field fails to decrypt instead of showing up there. A
 * blind index is HMAC-SHA-256 under the field's own index key, truncated to a few bits so that
 * equal values collide with other values on purpose (see indexBitsFor and docs/vault-encryption.md).
 *
 * Stored layout: 1 byte format (1) | 4 bytes key version (big-endian) | 12 bytes nonce | ciphertext | 16 bytes tag.
 */

const FORMAT = 1
const HEADER = 1 + 4 + 12
const TAG = 16

/** The space, model, field and primary key a ciphertext belongs to. Names cannot hold NUL; ids cannot either (validate-value). */
export function fieldAad(spaceId: string, model: string, field: string, primaryKey: string): Buffer {
  return Buffer.from(['gatehouse/vault/field/v1', spaceId, model, field, primaryKey].join('\0'), 'utf8')
}

export function encryptField(key: { version: number; key: Buffer }, plaintext: string, aad: Buffer): Buffer {
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce)
  cipher.setAAD(aad)
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  const header = Buffer.alloc(5)
  header.writeUInt8(FORMAT, 0)
  header.writeUInt32BE(key.version, 1)
  return Buffer.concat([header, nonce, body, cipher.getAuthTag()])
}

/** The data key version a stored value was encrypted under, or null when it is not one of ours. */
export function cipherKeyVersion(stored: Buffer): number | null {
  return stored.length >= HEADER + TAG && stored[0] === FORMAT ? stored.readUInt32BE(1) : null
}

/** The plaintext, or null when the key, the associated data or the bytes do not match (never a partial answer). */
export function decryptField(key: Buffer, stored: Buffer, aad: Buffer): string | null {
  if (cipherKeyVersion(stored) === null) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, stored.subarray(5, HEADER))
    decipher.setAAD(aad)
    decipher.setAuthTag(stored.subarray(stored.length - TAG))
    return Buffer.concat([decipher.update(stored.subarray(HEADER, stored.length - TAG)), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}

/**
 * The blind index of a value: the first `bits` bits of HMAC-SHA-256(indexKey, value) as a
 * non-negative integer (bits ≤ 48, so it is exact as a JavaScript number and fits a bigint column).
 * `value` is the field's canonical text (see canonicalText), so equal values index equally.
 */
export function blindIndex(indexKey: Buffer, value: string, bits: number): number {
  if (!Number.isInteger(bits) || bits < 1 || bits > MAX_INDEX_BITS) throw new Error(`blindIndex: bits must be 1..${MAX_INDEX_BITS}`)
  const mac = createHmac('sha256', indexKey).update(value, 'utf8').digest()
  return Math.floor(mac.readUIntBE(0, 6) / 2 ** (48 - bits))
}

export const MAX_INDEX_BITS = 48

/**
 * CipherSweet's rule for the index length: with N rows expected, every index value should be shared
 * by at least 2 rows on average (so an index value never pins down one row, even for a value held by
 * one row only) and by fewer than √N (so a lookup still narrows to a small set):
 * 2 ≤ N / 2^bits < √N, i.e. log2(√N) < bits ≤ log2(N / 2). We take the largest such length,
 * bits = floor(log2(N)) - 1 (at least 1): the fewest false positives the rule allows.
 */
export function indexBitsFor(expectedRows: number): number {
  if (!Number.isFinite(expectedRows) || expectedRows < 4) return 1
  return Math.max(1, Math.min(MAX_INDEX_BITS, Math.floor(Math.log2(expectedRows)) - 1))
}
