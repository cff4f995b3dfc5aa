import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { consistencyProof, inclusionProof, leafHash, rootHash, verifyConsistency, verifyInclusion } from '@gatehouse/sdk'

// Random trees of 1..300 leaves (each leaf = a random seed ‖ its index, so leaves are distinct) and
// random tampering with every part of a proof and of what it is checked against.

const MAX = 300
const runs = { numRuns: 150 }

function leafHashes(seed: Uint8Array, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const index = Buffer.alloc(4)
    index.writeUInt32BE(i)
    return leafHash(Buffer.concat([seed, index]))
  })
}

const flipBit = (h: Uint8Array, bit: number): Uint8Array => Uint8Array.from(h, (b, k) => (k === bit >> 3 ? b ^ (1 << (bit & 7)) : b))
const otherThan = (value: number, pick: number, bound: number): number => (value + 1 + (pick % (bound - 1))) % bound

const tree = fc.record({ size: fc.integer({ min: 1, max: MAX }), seed: fc.uint8Array({ minLength: 1, maxLength: 16 }) })
const picks = fc.array(fc.nat(), { minLength: 8, maxLength: 8 })

/** Every way of damaging a proof list: a flipped bit, a dropped, added, duplicated or moved hash. */
function tamperedProofs(proof: Uint8Array[], pick: number[]): Array<[string, Uint8Array[]]> {
  const [a = 0, b = 0, c = 0] = pick
  const out: Array<[string, Uint8Array[]]> = [
    ['added at the end', [...proof, leafHash(Buffer.from('extra'))]],
    ['added at the front', [leafHash(Buffer.from('extra')), ...proof]],
  ]
  if (proof.length === 0) return out
  const j = a % proof.length
  const bit = b % 256
  out.push(
    [`bit ${bit} of proof[${j}] flipped`, proof.map((h, k) => (k === j ? flipBit(h, bit) : h))],
    [`proof[${j}] dropped`, proof.filter((_, k) => k !== j)],
    [`proof[${j}] duplicated`, [...proof.slice(0, j + 1), ...proof.slice(j)]],
    [`random hash inserted at ${j}`, [...proof.slice(0, j), leafHash(Buffer.from(`x${c}`)), ...proof.slice(j)]],
  )
  if (proof.length > 1) {
    const k = otherThan(j, c, proof.length)
    const swapped = [...proof]
    swapped[j] = proof[k] as Uint8Array
    swapped[k] = proof[j] as Uint8Array
    out.push([`proof[${j}] and proof[${k}] swapped`, swapped])
  }
  return out
}

describe('inclusion proofs on random trees', () => {
  it('every generated proof verifies, and every tampering makes it fail', () => {
    fc.assert(
      fc.property(tree, picks, ({ size, seed }, pick) => {
        const [p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0] = pick
        const hashes = leafHashes(seed, MAX + 1)
        const index = p0 % size
        const leaf = hashes[index] as Uint8Array
        const root = rootHash(hashes.slice(0, size))
        const proof = inclusionProof(hashes, index, size)
        expect(verifyInclusion(leaf, index, size, proof, root)).toEqual({ ok: true })

        for (const [desc, bad] of tamperedProofs(proof, pick.slice(5))) expect(verifyInclusion(leaf, index, size, bad, root).ok, desc).toBe(false)
        if (size > 1) expect(verifyInclusion(leaf, otherThan(index, p1, size), size, proof, root).ok, 'other index').toBe(false)
        expect(verifyInclusion(leaf, size + (p1 % 4), size, proof, root).ok, 'index past the end').toBe(false)
        expect(verifyInclusion(hashes[size] as Uint8Array, index, size, proof, root).ok, 'other leaf').toBe(false)
        expect(verifyInclusion(flipBit(leaf, p2 % 256), index, size, proof, root).ok, 'leaf bit').toBe(false)
        expect(verifyInclusion(leaf, index, size, proof, flipBit(root, p3 % 256)).ok, 'root bit').toBe(false)
        // A proof for size n is never a proof for size m ≠ n, checked against size m's true root.
        const other = otherThan(size - 1, p4, MAX + 1) + 1
        const otherRoot = rootHash(hashes.slice(0, other))
        expect(verifyInclusion(leaf, index, other, proof, otherRoot).ok, `size ${other} instead of ${size}`).toBe(false)
      }),
      runs,
    )
  })
})

describe('consistency proofs on random trees', () => {
  it('every generated proof verifies, and every tampering makes it fail', () => {
    fc.assert(
      fc.property(tree, picks, ({ size: size2, seed }, pick) => {
        const [p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0] = pick
        const hashes = leafHashes(seed, MAX + 1)
        const size1 = 1 + (p0 % size2)
        const root1 = rootHash(hashes.slice(0, size1))
        const root2 = rootHash(hashes.slice(0, size2))
        const proof = consistencyProof(hashes, size1, size2)
        expect(verifyConsistency(size1, size2, proof, root1, root2)).toEqual({ ok: true })
        expect(verifyConsistency(0, size2, consistencyProof(hashes, 0, size2), rootHash([]), root2)).toEqual({ ok: true })

        for (const [desc, bad] of tamperedProofs(proof, pick.slice(5))) expect(verifyConsistency(size1, size2, bad, root1, root2).ok, desc).toBe(false)
        expect(verifyConsistency(size1, size2, proof, flipBit(root1, p1 % 256), root2).ok, 'root1 bit').toBe(false)
        expect(verifyConsistency(size1, size2, proof, root1, flipBit(root2, p2 % 256)).ok, 'root2 bit').toBe(false)
        if (size1 !== size2) {
          expect(verifyConsistency(size1, size2, proof, root2, root1).ok, 'swapped roots').toBe(false)
          expect(verifyConsistency(size2, size1, proof, root2, root1).ok, 'swapped sizes and roots').toBe(false)
        }
        // A proof between sizes (m, n) never proves (m', n) or (m, n') with those sizes' true roots.
        const other1 = otherThan(size1 - 1, p3, size2) + 1
        if (other1 !== size1) {
          expect(verifyConsistency(other1, size2, proof, rootHash(hashes.slice(0, other1)), root2).ok, `size1 ${other1} for ${size1}`).toBe(false)
          expect(verifyConsistency(other1, size2, proof, root1, root2).ok, `size1 ${other1} with root of ${size1}`).toBe(false)
        }
        const other2 = size1 + 1 + (p4 % (MAX + 1 - size1))
        if (other2 !== size2) {
          expect(verifyConsistency(size1, other2, proof, root1, rootHash(hashes.slice(0, other2))).ok, `size2 ${other2} for ${size2}`).toBe(false)
        }
      }),
      runs,
    )
  })
})

describe('proofs against other sizes, exhaustively for trees of up to 40 leaves', () => {
  // The immudb lesson (GHSA-672p-m5jq-mrh8): a proof is only valid for the sizes it was made for.
  // Checked against another size's true root, no proof passes. (Against the root of the size it
  // was made for but a different claimed size, the RFC algorithms can pass: only a signed
  // checkpoint binds a root to its size, hence checkInclusion/checkConsistency.)
  it('no inclusion or consistency proof verifies for another size with that size\'s root', () => {
    const N = 40
    const hashes = leafHashes(Buffer.from('exhaustive'), N)
    const roots = Array.from({ length: N + 1 }, (_, n) => rootHash(hashes.slice(0, n)))
    const accepted: string[] = []
    for (let n = 1; n <= N; n++) {
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(hashes, i, n)
        for (let m = 1; m <= N; m++) {
          if (m !== n && verifyInclusion(hashes[i] as Uint8Array, i, m, proof, roots[m] as Uint8Array).ok) accepted.push(`inclusion ${i}@${n} as @${m}`)
        }
      }
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(hashes, m, n)
        for (let m2 = 1; m2 <= n; m2++) {
          if (m2 !== m && verifyConsistency(m2, n, proof, roots[m2] as Uint8Array, roots[n] as Uint8Array).ok) accepted.push(`consistency ${m}→${n} as ${m2}→${n}`)
          if (m2 !== m && verifyConsistency(m2, n, proof, roots[m] as Uint8Array, roots[n] as Uint8Array).ok) accepted.push(`consistency ${m}→${n} as ${m2}→${n} (root of ${m})`)
        }
        for (let n2 = m; n2 <= N; n2++) {
          if (n2 !== n && verifyConsistency(m, n2, proof, roots[m] as Uint8Array, roots[n2] as Uint8Array).ok) accepted.push(`consistency ${m}→${n} as ${m}→${n2}`)
        }
      }
    }
    expect(accepted).toEqual([])
  })
})
