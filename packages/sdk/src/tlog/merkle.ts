import { createHash } from 'node:crypto'

/**
 * The RFC 6962 / RFC 9162 §2.1 Merkle tree over SHA-256: hashes, proof generation (the recursive
 * definitions of the RFC, over a list of leaf hashes held in memory) and the two verifiers (the
 * iterative algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2) that a customer runs offline.
 *
 * Sizes and indexes are JavaScript numbers and must be safe non-negative integers (< 2^53); a
 * verifier answers `{ ok: false }` for anything else rather than throwing, so that a hostile proof
 * can never crash the caller. A verifier takes the tree sizes from the caller (from checkpoints the
 * caller verified), never from the proof: a proof is only ever checked against one size.
 */

export const HASH_SIZE = 32

export type ProofCheck = { ok: true } | { ok: false; reason: string }

const LEAF_PREFIX = Uint8Array.of(0x00)
const NODE_PREFIX = Uint8Array.of(0x01)

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const part of parts) h.update(part)
  return new Uint8Array(h.digest())
}

/** MTH({}) = SHA-256 of the empty string: the root of a tree with no leaves. */
export function emptyRoot(): Uint8Array {
  return sha256()
}

/** MTH({d}) = SHA-256(0x00 ‖ d): the hash of one leaf's bytes. */
export function leafHash(leaf: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, leaf)
}

/** SHA-256(0x01 ‖ left ‖ right): the hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right)
}

function isSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0
}

/** The largest power of two strictly smaller than n (n ≥ 2): RFC 6962's split point k. */
function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

function requireHashes(leafHashes: readonly Uint8Array[], size: number): void {
  if (!isSize(size) || size > leafHashes.length) throw new RangeError(`tree size ${size} is not within 0..${leafHashes.length}`)
  for (let i = 0; i < size; i++) {
    if (leafHashes[i]?.length !== HASH_SIZE) throw new RangeError(`leaf hash ${i} is not ${HASH_SIZE} bytes`)
  }
}

/** MTH(D[start:end]) over leaf hashes. */
function subtreeRoot(leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start
  if (n === 0) return emptyRoot()
  if (n === 1) return leafHashes[start] as Uint8Array
  const k = splitPoint(n)
  return nodeHash(subtreeRoot(leafHashes, start, start + k), subtreeRoot(leafHashes, start + k, end))
}

/** The Merkle tree hash of the tree whose leaves have these hashes (any n ≥ 0). */
export function rootHash(leafHashes: readonly Uint8Array[]): Uint8Array {
  requireHashes(leafHashes, leafHashes.length)
  return subtreeRoot(leafHashes, 0, leafHashes.length)
}

/** PATH(m, D[start:end]) of RFC 6962 §2.1.1, bottom-up. */
function path(leafHashes: readonly Uint8Array[], m: number, start: number, end: number): Uint8Array[] {
  const n = end - start
  if (n <= 1) return []
  const k = splitPoint(n)
  if (m < k) return [...path(leafHashes, m, start, start + k), subtreeRoot(leafHashes, start + k, end)]
  return [...path(leafHashes, m - k, start + k, end), subtreeRoot(leafHashes, start, start + k)]
}

/** The audit path of leaf `index` in the tree made of the first `treeSize` leaf hashes. */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number, treeSize: number): Uint8Array[] {
  requireHashes(leafHashes, treeSize)
  if (!isSize(index) || index >= treeSize) throw new RangeError(`leaf index ${index} is not below tree size ${treeSize}`)
  return path(leafHashes, index, 0, treeSize)
}

/** SUBPROOF(m, D[start:end], b) of RFC 6962 §2.1.2. */
function subproof(leafHashes: readonly Uint8Array[], m: number, start: number, end: number, complete: boolean): Uint8Array[] {
  const n = end - start
  if (m === n) return complete ? [] : [subtreeRoot(leafHashes, start, end)]
  const k = splitPoint(n)
  if (m <= k) return [...subproof(leafHashes, m, start, start + k, complete), subtreeRoot(leafHashes, start + k, end)]
  return [...subproof(leafHashes, m - k, start + k, end, false), subtreeRoot(leafHashes, start, start + k)]
}

/**
 * The consistency proof between the tree of the first `from` leaves and the tree of the first `to`
 * leaves. Empty when from = to or from = 0 (an empty tree is a prefix of every tree).
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], from: number, to: number): Uint8Array[] {
  requireHashes(leafHashes, to)
  if (!isSize(from) || from > to) throw new RangeError(`size ${from} is not within 0..${to}`)
  if (from === 0 || from === to) return []
  return subproof(leafHashes, from, 0, to, true)
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length
}

function popCount(x: bigint): number {
  let count = 0
  for (let v = x; v > 0n; v >>= 1n) count += Number(v & 1n)
  return count
}

/**
 * The exact length an inclusion proof for `index` in a tree of `size` must have: the hashes below
 * the point where the paths to `index` and to `size - 1` part (inner), then one per left sibling
 * on the right border above it (border).
 */
function inclusionLength(index: bigint, size: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n))
  return { inner, border: popCount(index >> BigInt(inner)) }
}

const isHash = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === HASH_SIZE

/** The index of the first proof element that is not a 32-byte hash, -2 if the proof is no array. */
function badHash(proof: readonly Uint8Array[]): number {
  return Array.isArray(proof) ? proof.findIndex((h) => !isHash(h)) : -2
}

function fail(reason: string): ProofCheck {
  return { ok: false, reason }
}

/**
 * RFC 9162 §2.1.3.2: does `proof` show that the leaf with hash `leaf` is at `index` in the tree of
 * `treeSize` leaves whose root is `root`? Also rejects a proof of any length other than the one the
 * index and size determine, so a proof made for another size never passes.
 */
export function verifyInclusion(leaf: Uint8Array, index: number, treeSize: number, proof: readonly Uint8Array[], root: Uint8Array): ProofCheck {
  if (!isSize(index) || !isSize(treeSize)) return fail('index and tree size must be non-negative safe integers')
  if (index >= treeSize) return fail(`index ${index} is not below tree size ${treeSize}`)
  if (!isHash(leaf) || !isHash(root)) return fail(`leaf and root hashes must be ${HASH_SIZE} bytes`)
  const bad = badHash(proof)
  if (bad === -2) return fail('the proof is not a list of hashes')
  if (bad >= 0) return fail(`proof hash ${bad} is not ${HASH_SIZE} bytes`)
  let fn = BigInt(index)
  let sn = BigInt(treeSize) - 1n
  const { inner, border } = inclusionLength(fn, sn + 1n)
  if (proof.length !== inner + border) return fail(`proof has ${proof.length} hashes, a tree of size ${treeSize} needs ${inner + border} for index ${index}`)
  let r = leaf
  for (const p of proof) {
    if (sn === 0n) return fail('proof is longer than the path to the root')
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r)
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n
          sn >>= 1n
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn >>= 1n
    sn >>= 1n
  }
  if (sn !== 0n) return fail('proof is shorter than the path to the root')
  return equal(r, root) ? { ok: true } : fail('computed root does not match the given root')
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show that the tree of `size1` leaves with root `root1` is a
 * prefix of the tree of `size2` leaves with root `root2`? Equal sizes need an empty proof and equal
 * roots; size1 = 0 needs an empty proof and root1 = the empty tree's root; size1 > size2 never holds.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): ProofCheck {
  if (!isSize(size1) || !isSize(size2)) return fail('tree sizes must be non-negative safe integers')
  if (size1 > size2) return fail(`size1 ${size1} is larger than size2 ${size2}`)
  if (!isHash(root1) || !isHash(root2)) return fail(`root hashes must be ${HASH_SIZE} bytes`)
  const bad = badHash(proof)
  if (bad === -2) return fail('the proof is not a list of hashes')
  if (bad >= 0) return fail(`proof hash ${bad} is not ${HASH_SIZE} bytes`)
  if (size1 === size2) {
    if (proof.length !== 0) return fail('a proof between equal sizes must be empty')
    return equal(root1, root2) ? { ok: true } : fail('equal sizes with different roots')
  }
  if (size1 === 0) {
    if (proof.length !== 0) return fail('a proof from the empty tree must be empty')
    return equal(root1, emptyRoot()) ? { ok: true } : fail('root1 is not the empty tree root')
  }
  if (proof.length === 0) return fail('empty proof between different sizes')

  const m = BigInt(size1)
  const n = BigInt(size2)
  // Expected length (as transparency-dev/merkle computes it): the inclusion path of leaf m-1 in the
  // size2 tree, less the levels below the largest complete subtree ending at m, plus that
  // subtree's hash unless it is the whole first tree (m a power of two, root1 stands in for it).
  const shift = bitLength(m & -m) - 1
  const powerOfTwo = (m & (m - 1n)) === 0n
  const { inner, border } = inclusionLength(m - 1n, n)
  const expected = (powerOfTwo ? 0 : 1) + inner - shift + border
  if (proof.length !== expected) return fail(`proof has ${proof.length} hashes, sizes ${size1} → ${size2} need ${expected}`)

  const path = powerOfTwo ? [root1, ...proof] : [...proof]
  let fn = m - 1n
  let sn = n - 1n
  while ((fn & 1n) === 1n) {
    fn >>= 1n
    sn >>= 1n
  }
  let fr = path[0] as Uint8Array
  let sr = fr
  for (const c of path.slice(1)) {
    if (sn === 0n) return fail('proof is longer than the path to the root')
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n
          sn >>= 1n
        }
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn >>= 1n
    sn >>= 1n
  }
  if (sn !== 0n) return fail('proof is shorter than the path to the root')
  if (!equal(fr, root1)) return fail('proof does not lead to root1')
  if (!equal(sr, root2)) return fail('proof does not lead to root2')
  return { ok: true }
}
