import { randomBytes, randomFillSync } from 'node:crypto'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

/** RFC 4648 base32 in lower case, unpadded: URL-safe and easy to read aloud. */
export function base32(bytes: Uint8Array): string {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

/** A random id with a readable prefix (`usr_…`, `grp_…`): 80 random bits. */
export const newId = (prefix: string): string => `${prefix}_${base32(randomBytes(10))}`

/**
 * Request ids, `req_` and 16 hex digits (64 random bits), cut from a buffer of random bytes refilled
 * a few KiB at a time: `randomBytes(8)` on every request is a trip through the crypto job machinery
 * (about 2 µs, the largest single cost Gatehouse's own code adds to a cached access check). Same
 * source (the CSPRNG), same format. A factory, not a module-level pool: each app owns its own.
 */
export function createRequestIds(poolBytes = 4096): () => string {
  const pool = Buffer.alloc(poolBytes - (poolBytes % 8))
  let offset = pool.length
  return () => {
    if (offset === pool.length) {
      randomFillSync(pool)
      offset = 0
    }
    const id = `req_${pool.toString('hex', offset, offset + 8)}`
    offset += 8
    return id
  }
}
