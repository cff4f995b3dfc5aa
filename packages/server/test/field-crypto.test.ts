import { webcrypto } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  aes256GcmSeal,
  blindIndex,
  blindIndexBits,
  decryptValue,
  encryptValue,
  encryptValueWithNonce,
  fieldAad,
  INTEGRITY_ERROR_CODE,
  keyVersionOf,
} from '../src/lib/crypto/field-crypto.js'
import { createLocalKms, masterKeyId } from '../src/modules/keys/local-kms.js'

const hex = (text: string) => Buffer.from(text, 'hex')

describe('AES-256-GCM (known answers)', () => {
  it('matches the GCM specification test case 16 (AES-256, 60-byte plaintext, 20-byte AAD)', () => {
    const { ciphertext, tag } = aes256GcmSeal(
      hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
      hex('cafebabefacedbaddecaf888'),
      hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39'),
      hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'),
    )
    expect(ciphertext.toString('hex')).toBe('522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662')
    expect(tag.toString('hex')).toBe('76fc6ece0f4e1768cddf8853bb2d551b')
  })

  it('a sealed value is format ‖ version ‖ nonce ‖ GCM(header ‖ aad), as WebCrypto computes it, and a pinned vector', async () => {
    const key = Buffer.alloc(32, 0x11)
    const nonce = Buffer.alloc(12, 0x22)
    const aad = fieldAad('default', 'patients', 'birth_date', 'pat_1')
    const sealed = encryptValueWithNonce(key, Buffer.from('1984-06-01'), aad, 7, nonce)
    const header = hex('0100000007')
    const subtleKey = await webcrypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt'])
    const expected = Buffer.from(await webcrypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: Buffer.concat([header, aad]), tagLength: 128 }, subtleKey, Buffer.from('1984-06-01')))
    expect(sealed.toString('hex')).toBe(Buffer.concat([header, nonce, expected]).toString('hex'))
    expect(sealed.toString('hex')).toBe('010000000722222222222222222222222226ce3f7dedffa972d50e72b64f20ecfe37baea7581ce679b70f5')
    expect(keyVersionOf(sealed)).toBe(7)
  })
})

describe('encryptValue / decryptValue', () => {
  const key = Buffer.alloc(32, 0x33)
  const keys = (version: number) => (version === 3 ? key : undefined)
  const aad = fieldAad('default', 'patients', 'last_name', 'pat_1')

  it('round-trips any bytes, with a fresh nonce each time', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const plain = Buffer.from(bytes)
        const a = encryptValue(key, plain, aad, 3)
        const b = encryptValue(key, plain, aad, 3)
        expect(a.equals(b)).toBe(false)
        expect(decryptValue(keys, a, aad).equals(plain)).toBe(true)
      }),
    )
  })

  const refused = (run: () => unknown) => {
    try {
      run()
    } catch (error) {
      return (error as { code?: string }).code
    }
    return 'decrypted'
  }

  it('refuses a value moved to another row or field, an altered byte, a changed version, an unknown version', () => {
    const sealed = encryptValue(key, Buffer.from('Lovelace'), aad, 3)
    expect(refused(() => decryptValue(keys, sealed, fieldAad('default', 'patients', 'last_name', 'pat_2')))).toBe(INTEGRITY_ERROR_CODE)
    expect(refused(() => decryptValue(keys, sealed, fieldAad('default', 'patients', 'first_name', 'pat_1')))).toBe(INTEGRITY_ERROR_CODE)
    expect(refused(() => decryptValue(keys, sealed, fieldAad('other', 'patients', 'last_name', 'pat_1')))).toBe(INTEGRITY_ERROR_CODE)
    for (let i = 0; i < sealed.length; i++) {
      const altered = Buffer.from(sealed)
      altered[i]! ^= 0x01
      expect(refused(() => decryptValue((v) => (v === 3 || v === 0x01000003 || v === 0x00010003 || v === 0x00000103 || v === 2 ? key : undefined), altered, aad)), `byte ${i}`).toBe(INTEGRITY_ERROR_CODE)
    }
    expect(refused(() => decryptValue(() => undefined, sealed, aad))).toBe(INTEGRITY_ERROR_CODE)
    expect(refused(() => decryptValue(keys, sealed.subarray(0, 10), aad))).toBe(INTEGRITY_ERROR_CODE)
  })

  it('the associated data is unambiguous: shifting text between parts changes it', () => {
    expect(fieldAad('s', 'ab', 'c', 'p').equals(fieldAad('s', 'a', 'bc', 'p'))).toBe(false)
    expect(fieldAad('s', 'm', 'f', 'p').toString('hex')).toBe('0000001267617465686f7573652f6669656c642f76310000000173000000016d00000001660000000170')
  })
})

describe('blind indexes', () => {
  it('are HMAC-SHA-256 (RFC 4231 test case 2) truncated to the bit length, tail bits zeroed', () => {
    const key = Buffer.from('Jefe')
    const data = 'what do ya want for nothing?'
    expect(blindIndex(key, data, 256).toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
    expect(blindIndex(key, data, 8).toString('hex')).toBe('5b')
    expect(blindIndex(key, data, 12).toString('hex')).toBe('5bd0')
    expect(blindIndex(key, data, 15).toString('hex')).toBe('5bdc')
    expect(blindIndex(key, data, 14).toString('hex')).toBe('5bdc')
    expect(blindIndex(key, data, 13).toString('hex')).toBe('5bd8')
  })

  it('depend on the key: the same value under another field key gives another index', () => {
    expect(blindIndex(Buffer.alloc(32, 1), '1984-06-01', 32).equals(blindIndex(Buffer.alloc(32, 2), '1984-06-01', 32))).toBe(false)
  })

  it('are sized so that r / 2^bits is at least 2 and below √r (CipherSweet), clamped to 8 bits for small r', () => {
    // Just below a power of two, Math.log2 rounds up: 2^50 − 2 once gave 49 bits (r / 2^bits < 2).
    for (const rows of [1023, 1024, 5000, 100_000, 1_000_000, 123_456_789, 2 ** 30 - 1, 2 ** 40, 2 ** 50 - 2, 2 ** 50 - 1]) {
      const bits = blindIndexBits(rows)
      expect(rows / 2 ** bits, `${rows} rows`).toBeGreaterThanOrEqual(2)
      expect(rows / 2 ** bits, `${rows} rows`).toBeLessThan(Math.sqrt(rows))
      expect(rows / 2 ** (bits + 1), `${rows} rows: the most selective length`).toBeLessThan(2)
    }
    fc.assert(
      fc.property(fc.integer({ min: 512, max: 2 ** 50 }), (rows) => {
        const bits = blindIndexBits(rows)
        return rows / 2 ** bits >= 2 && rows / 2 ** bits < Math.sqrt(rows)
      }),
    )
    expect(blindIndexBits(100_000)).toBe(15)
    expect(blindIndexBits(0)).toBe(8)
    expect(blindIndexBits(10)).toBe(8)
    expect(blindIndexBits(Number.NaN)).toBe(8)
  })
})

describe('the local KMS', () => {
  it('wraps with the context bound: another context or another master key does not unwrap', async () => {
    const kms = createLocalKms(Buffer.alloc(32, 5))
    const other = createLocalKms(Buffer.alloc(32, 6))
    const wrapped = await kms.wrap(Buffer.from('a data key'), 'dek:default:1')
    expect((await kms.unwrap(wrapped, 'dek:default:1')).toString()).toBe('a data key')
    await expect(kms.unwrap(wrapped, 'dek:default:2')).rejects.toMatchObject({ code: 'integrity_failed' })
    await expect(other.unwrap(wrapped, 'dek:default:1')).rejects.toMatchObject({ code: 'integrity_failed' })
    expect(kms.keyId).toMatch(/^mk_[0-9a-f]{16}$/)
    expect(kms.keyId).toBe(masterKeyId(Buffer.alloc(32, 5)))
    expect(kms.keyId).not.toBe(other.keyId)
  })
})
