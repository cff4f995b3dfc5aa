import { describe, expect, it } from 'vitest'
import { consistencyProof, emptyRoot, inclusionProof, leafHash, nodeHash, rootHash, verifyConsistency, verifyInclusion } from '@gatehouse/sdk'

// Published RFC 6962 test vectors, copied from transparency-dev/merkle (Apache-2.0):
//   rfc6962/rfc6962_test.go  (TestRFC6962Hasher: empty root, leaf and node hashes)
//   proof/verify_test.go     (leaves, roots, inclusionProofs, consistencyProofs; the same values as
//                             Google's certificate-transparency merkle_tree_test)
// Inclusion vectors there number leaves from 1; they are converted to 0-based indexes below.

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex)
const leafHashes = leaves.map(leafHash)

const roots = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]
const rootOf = (size: number): Uint8Array => hex(roots[size - 1] as string)

const inclusionVectors: Array<{ leaf: number; size: number; proof: string[] }> = [
  { leaf: 1, size: 1, proof: [] },
  { leaf: 1, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { leaf: 6, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { leaf: 2, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
]

const consistencyVectors: Array<{ size1: number; size2: number; proof: string[] }> = [
  { size1: 1, size2: 1, proof: [] },
  { size1: 1, size2: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { size1: 6, size2: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { size1: 2, size2: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { size1: 6, size2: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
]

const someHash = hex('abacaba000000000000000000000000000000000000000000060061e00123456')
const emptyTreeHash = hex('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')

function flip(proof: Uint8Array[], i: number, mask: number): Uint8Array[] {
  return proof.map((h, j) => (j === i ? Uint8Array.from(h, (b, k) => (k === 0 ? b ^ mask : b)) : h))
}

describe('RFC 6962 hashes (transparency-dev/merkle rfc6962_test.go)', () => {
  it('hashes the empty tree, a leaf and a node as published', () => {
    expect(toHex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(toHex(rootHash([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(toHex(leafHash(new Uint8Array()))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d')
    expect(toHex(leafHash(Buffer.from('L123456')))).toBe('395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56')
    expect(toHex(nodeHash(Buffer.from('N123'), Buffer.from('N456')))).toBe('aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb')
  })

  it('computes the published root for every size 1..8', () => {
    for (let size = 1; size <= 8; size++) expect(toHex(rootHash(leafHashes.slice(0, size))), `size ${size}`).toBe(roots[size - 1])
  })
})

describe('RFC 6962 inclusion proofs (transparency-dev/merkle verify_test.go)', () => {
  for (const v of inclusionVectors) {
    const index = v.leaf - 1
    const proof = v.proof.map(hex)
    const root = rootOf(v.size)
    const leaf = leafHashes[index] as Uint8Array

    it(`leaf ${index} of ${v.size}: generated as published, verifies, and every corruption fails`, () => {
      expect(inclusionProof(leafHashes, index, v.size).map(toHex)).toEqual(v.proof)
      expect(verifyInclusion(leaf, index, v.size, proof, root)).toEqual({ ok: true })
      // The probes of corruptInclusionProof() in verify_test.go.
      const probes: Array<[string, number, number, Uint8Array, Uint8Array[], Uint8Array]> = [
        ['index - 1', index - 1, v.size, leaf, proof, root],
        ['index + 1', index + 1, v.size, leaf, proof, root],
        ['index ^ 2', index ^ 2, v.size, leaf, proof, root],
        ['size * 2', index, v.size * 2, leaf, proof, root],
        ['size / 2', index, Math.floor(v.size / 2), leaf, proof, root],
        ['wrong leaf', index, v.size, leafHash(Buffer.from('WrongLeaf')), proof, root],
        ['empty root', index, v.size, leaf, proof, emptyTreeHash],
        ['random root', index, v.size, leaf, proof, someHash],
        ['trailing garbage', index, v.size, leaf, [...proof, new Uint8Array()], root],
        ['trailing root', index, v.size, leaf, [...proof, root], root],
        ['preceding garbage', index, v.size, leaf, [new Uint8Array(), ...proof], root],
        ['preceding root', index, v.size, leaf, [root, ...proof], root],
        ...proof.map((_, i): [string, number, number, Uint8Array, Uint8Array[], Uint8Array] => [`proof[${i}] bit 3`, index, v.size, leaf, flip(proof, i, 8), root]),
      ]
      if (proof.length > 0) probes.push(['removed component', index, v.size, leaf, proof.slice(0, -1), root])
      if (proof.length > 1) probes.push(['inserted component', index, v.size, leaf, [proof[0] as Uint8Array, someHash, ...proof.slice(1)], root])
      for (const [desc, i, size, l, p, r] of probes) expect(verifyInclusion(l, i, size, p, r).ok, desc).toBe(false)
    })
  }

  it('rejects the degenerate probes of TestVerifyInclusion', () => {
    for (const [index, size] of [[0, 0], [0, 1], [1, 0], [2, 1]] as const) {
      expect(verifyInclusion(someHash, index, size, [], new Uint8Array())).toMatchObject({ ok: false })
      expect(verifyInclusion(new Uint8Array(), index, size, [], emptyTreeHash)).toMatchObject({ ok: false })
      expect(verifyInclusion(someHash, index, size, [], emptyTreeHash)).toMatchObject({ ok: false })
    }
    const single = leafHash(Buffer.from('data'))
    expect(verifyInclusion(single, 0, 1, [], single)).toEqual({ ok: true })
    expect(verifyInclusion(single, 0, 1, [], new Uint8Array()).ok).toBe(false)
    expect(verifyInclusion(new Uint8Array(), 0, 1, [], single).ok).toBe(false)
  })
})

describe('RFC 6962 consistency proofs (transparency-dev/merkle verify_test.go)', () => {
  for (const v of consistencyVectors) {
    const proof = v.proof.map(hex)
    const root1 = rootOf(v.size1)
    const root2 = rootOf(v.size2)

    it(`${v.size1} → ${v.size2}: generated as published, verifies, and every corruption fails`, () => {
      expect(consistencyProof(leafHashes, v.size1, v.size2).map(toHex)).toEqual(v.proof)
      expect(verifyConsistency(v.size1, v.size2, proof, root1, root2)).toEqual({ ok: true })
      if (proof.length === 0) return
      // The probes of corruptConsistencyProof() in verify_test.go.
      const probes: Array<[string, number, number, Uint8Array, Uint8Array, Uint8Array[]]> = [
        ['size1 - 1', v.size1 - 1, v.size2, root1, root2, proof],
        ['size1 + 1', v.size1 + 1, v.size2, root1, root2, proof],
        ['size1 ^ 2', v.size1 ^ 2, v.size2, root1, root2, proof],
        ['size2 * 2', v.size1, v.size2 * 2, root1, root2, proof],
        ['size2 / 2', v.size1, Math.floor(v.size2 / 2), root1, root2, proof],
        ['wrong root1', v.size1, v.size2, Buffer.from('WrongRoot'), root2, proof],
        ['wrong root2', v.size1, v.size2, root1, Buffer.from('WrongRoot'), proof],
        ['swapped roots', v.size1, v.size2, root2, root1, proof],
        ['empty proof', v.size1, v.size2, root1, root2, []],
        ['trailing garbage', v.size1, v.size2, root1, root2, [...proof, new Uint8Array()]],
        ['trailing root1', v.size1, v.size2, root1, root2, [...proof, root1]],
        ['trailing root2', v.size1, v.size2, root1, root2, [...proof, root2]],
        ['preceding garbage', v.size1, v.size2, root1, root2, [new Uint8Array(), ...proof]],
        ['preceding root1', v.size1, v.size2, root1, root2, [root1, ...proof]],
        ['preceding root2', v.size1, v.size2, root1, root2, [root2, ...proof]],
        ['preceding proof[0]', v.size1, v.size2, root1, root2, [proof[0] as Uint8Array, ...proof]],
        ['truncated proof', v.size1, v.size2, root1, root2, proof.slice(0, -1)],
        ...proof.map((_, i): [string, number, number, Uint8Array, Uint8Array, Uint8Array[]] => [`proof[${i}] bit 4`, v.size1, v.size2, root1, root2, flip(proof, i, 16)]),
      ]
      for (const [desc, s1, s2, r1, r2, p] of probes) expect(verifyConsistency(s1, s2, p, r1, r2).ok, desc).toBe(false)
    })
  }

  it('decides the edge cases of TestVerifyConsistency (size 0, equal sizes, time travel)', () => {
    const a = rootOf(1)
    const b = rootOf(2)
    expect(verifyConsistency(0, 0, [], emptyTreeHash, emptyTreeHash)).toEqual({ ok: true })
    expect(verifyConsistency(0, 1, [], emptyTreeHash, a)).toEqual({ ok: true })
    expect(verifyConsistency(1, 1, [], a, a)).toEqual({ ok: true })
    expect(verifyConsistency(1, 1, [], a, b).ok).toBe(false) // equal sizes, different roots
    expect(verifyConsistency(0, 0, [], emptyTreeHash, a).ok).toBe(false)
    expect(verifyConsistency(1, 0, [], a, emptyTreeHash).ok).toBe(false) // time travel to the past
    expect(verifyConsistency(2, 1, [], b, a).ok).toBe(false)
    expect(verifyConsistency(1, 2, [], a, b).ok).toBe(false) // empty proof between different sizes
    // Roots match but the proof is not empty.
    expect(verifyConsistency(0, 0, [emptyTreeHash], emptyTreeHash, emptyTreeHash).ok).toBe(false)
    expect(verifyConsistency(0, 1, [emptyTreeHash], emptyTreeHash, a).ok).toBe(false)
    expect(verifyConsistency(1, 1, [emptyTreeHash], a, a).ok).toBe(false)
    // Stricter than Go: an empty tree's root must be SHA-256(""), whatever the proof.
    expect(verifyConsistency(0, 1, [], someHash, a).ok).toBe(false)
  })

  it('says why it rejects: the checks run before any hashing, in a fixed order', () => {
    const proof18 = inclusionVectors[1]?.proof.map(hex) ?? []
    const reason = (r: { ok: boolean; reason?: string }): string | undefined => r.reason
    expect(reason(verifyInclusion(leafHashes[0] as Uint8Array, 0, 8, [...proof18, someHash], rootOf(8)))).toBe('proof has 4 hashes, a tree of size 8 needs 3 for index 0')
    expect(reason(verifyInclusion(leafHashes[0] as Uint8Array, 8, 8, proof18, rootOf(8)))).toBe('index 8 is not below tree size 8')
    expect(reason(verifyInclusion(leafHashes[0] as Uint8Array, 0, 8, [proof18[0] as Uint8Array, new Uint8Array(31), someHash], rootOf(8)))).toBe('proof hash 1 is not 32 bytes')
    expect(reason(verifyConsistency(2, 1, [someHash], rootOf(2), rootOf(1)))).toBe('size1 2 is larger than size2 1')
    expect(reason(verifyConsistency(6, 8, [someHash], rootOf(6), rootOf(8)))).toBe('proof has 1 hashes, sizes 6 → 8 need 3')
    expect(reason(verifyConsistency(6, 8, consistencyVectors[2]?.proof.map(hex) ?? [], rootOf(5), rootOf(8)))).toBe('proof does not lead to root1')
    expect(reason(verifyConsistency(6, 8, consistencyVectors[2]?.proof.map(hex) ?? [], rootOf(6), rootOf(7)))).toBe('proof does not lead to root2')
  })

  it('refuses sizes that are not safe non-negative integers instead of throwing', () => {
    const root = rootOf(2)
    expect(verifyConsistency(-1, 2, [], root, root).ok).toBe(false)
    expect(verifyConsistency(1.5, 2, [], root, root).ok).toBe(false)
    expect(verifyConsistency(1, 2 ** 53, [], root, root).ok).toBe(false)
    expect(verifyInclusion(leafHashes[0] as Uint8Array, 0, Number.NaN, [], root).ok).toBe(false)
    expect(verifyInclusion(leafHashes[0] as Uint8Array, -1, 2, [], root).ok).toBe(false)
    // What plain JavaScript callers might pass: never a throw, never an acceptance.
    const loose = (v: unknown): Uint8Array => v as Uint8Array
    expect(verifyInclusion(loose(undefined), 0, 1, [], root).ok).toBe(false)
    expect(verifyInclusion(loose('x'.repeat(32)), 0, 1, [], loose('x'.repeat(32))).ok).toBe(false)
    expect(verifyInclusion(leafHashes[0] as Uint8Array, 0, 2, loose(null) as unknown as Uint8Array[], root).ok).toBe(false)
    expect(verifyConsistency(1, 2, [loose(null)], root, root).ok).toBe(false)
    expect(verifyConsistency(1, 2, [], loose(null), root).ok).toBe(false)
  })
})
