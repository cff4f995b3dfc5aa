import { createHash, randomBytes } from 'node:crypto'
import { aes256GcmOpen, aes256GcmSeal, lengthPrefixed } from '../../lib/crypto/field-crypto.js'
import { AppError } from '../../http/errors.js'
import type { Kms } from './keys-types.js'

const WRAP_FORMAT_V1 = 0x01
const NONCE_BYTES = 12
const TAG_BYTES = 16

/** The public id of a master key: `mk_` + the first 8 bytes of a domain-separated SHA-256, in hex. */
export function masterKeyId(masterKey: Buffer): string {
  return `mk_${createHash('sha256').update('gatehouse/master-key-id/v1\0').update(masterKey).digest().subarray(0, 8).toString('hex')}`
}

/**
 * The master key held in this process: AES-256-GCM key wrap, random 96-bit nonce, the context
 * (length-prefixed, after a domain tag) as associated data. Wrapped = format (1) ‖ nonce (12) ‖
 * ciphertext ‖ tag (16).
 */
export function createLocalKms(masterKey: Buffer): Kms {
  if (masterKey.length !== 32) throw new Error(`the master key is 32 bytes, got ${masterKey.length}`)
  const key = Buffer.from(masterKey)
  const keyId = masterKeyId(key)
  const aad = (context: string) => lengthPrefixed(['gatehouse/kms/v1', context])
  return {
    keyId,
    async wrap(plain, context) {
      const nonce = randomBytes(NONCE_BYTES)
      const { ciphertext, tag } = aes256GcmSeal(key, nonce, plain, aad(context))
      return Buffer.concat([Buffer.of(WRAP_FORMAT_V1), nonce, ciphertext, tag])
    },
    async unwrap(wrapped, context) {
      const plain =
        wrapped.length >= 1 + NONCE_BYTES + TAG_BYTES && wrapped[0] === WRAP_FORMAT_V1
          ? aes256GcmOpen(key, wrapped.subarray(1, 1 + NONCE_BYTES), wrapped.subarray(1 + NONCE_BYTES, wrapped.length - TAG_BYTES), wrapped.subarray(wrapped.length - TAG_BYTES), aad(context))
          : undefined
      if (!plain) throw new AppError('integrity_failed', `a key wrapped under master key ${keyId} does not unwrap (altered, or wrapped for another use); nothing was decrypted`)
      return plain
    },
  }
}
