import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { blindIndex, cipherKeyVersion, decryptField, encryptField, fieldAad, indexBitsFor } from './field-cipher.js'

const key = { version: 7, key: randomBytes(32) }

describe('field cipher', () => {
  it('opens only under the same key and the same space, model, field and primary key', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('s1', 's2'), fc.constantFrom('m1', 'm2'), fc.constantFrom('f1', 'f2'), fc.constantFrom('k1', 'k2'), (text, space, model, field, id) => {
        const sealed = encryptField(key, text, fieldAad('s1', 'm1', 'f1', 'k1'))
        expect(cipherKeyVersion(sealed)).toBe(7)
        const same = space === 's1' && model === 'm1' && field === 'f1' && id === 'k1'
        expect(decryptField(key.key, sealed, fieldAad(space, model, field, id))).toBe(same ? text : null)
      }),
    )
    const sealed = encryptField(key, 'x', fieldAad('s', 'm', 'f', 'k'))
    expect(decryptField(randomBytes(32), sealed, fieldAad('s', 'm', 'f', 'k'))).toBeNull()
    sealed[sealed.length - 1]! ^= 1
    expect(decryptField(key.key, sealed, fieldAad('s', 'm', 'f', 'k'))).toBeNull()
    expect(encryptField(key, 'x', fieldAad('s', 'm', 'f', 'k')).equals(encryptField(key, 'x', fieldAad('s', 'm', 'f', 'k')))).toBe(false) // a fresh nonce each time
  })

  it('blind indexes are keyed, deterministic and within their bits', () => {
    const indexKey = randomBytes(32)
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 48 }), (value, bits) => {
        const index = blindIndex(indexKey, value, bits)
        expect(index).toBe(blindIndex(indexKey, value, bits))
        expect(index >= 0 && index < 2 ** bits && Number.isInteger(index)).toBe(true)
      }),
    )
    const values = Array.from({ length: 200 }, (_, i) => `1990-01-${i}`)
    const other = randomBytes(32)
    expect(values.filter((value) => blindIndex(indexKey, value, 32) === blindIndex(other, value, 32)).length).toBe(0) // another key, other indexes
  })

  it("sizes an index by CipherSweet's rule: 2 <= N / 2^bits < sqrt(N)", () => {
    for (const rows of [16, 100, 1000, 100_000, 1_000_000, 1e9]) {
      const bits = indexBitsFor(rows)
      expect(rows / 2 ** bits).toBeGreaterThanOrEqual(2)
      expect(rows / 2 ** bits).toBeLessThan(Math.sqrt(rows))
      expect(rows / 2 ** (bits + 1)).toBeLessThan(2) // the longest such index
    }
    expect(indexBitsFor(1_000_000)).toBe(18)
    expect(indexBitsFor(1)).toBe(1)
  })
})
