import { nodeHash } from './merkle.js'

/**
 * Proofs from stored subtree hashes. A log that keeps the hash of every perfect subtree (node
 * `index` at `level` covers leaves [index·2^level, (index+1)·2^level)) can answer any RFC 6962
 * proof by reading O(log² n) of them instead of holding every leaf: each hash of a proof is the
 * Merkle tree hash of a leaf range, and every range the RFC's recursion names splits into a few
 * perfect subtrees. These functions say which; the server reads them and `foldRange` combines.
 * They produce exactly what `inclusionProof` / `consistencyProof` produce (a property test says so).
 */

/** A perfect subtree of the log. */
export interface TreeNode {
  level: number
  index: number
}

/** A leaf range [start, end) whose Merkle tree hash is one element of a proof. */
export type LeafRange = readonly [start: number, end: number]

const pow2 = (level: number) => 2 ** level

function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/**
 * The perfect subtrees that make up [start, end), left to right and largest first, for a range
 * that the RFC's recursion names (its start is aligned to the largest power of two not above its
 * length), so that MTH(range) = foldRange of their hashes.
 */
export function rangeNodes(start: number, end: number): TreeNode[] {
  const nodes: TreeNode[] = []
  let at = start
  while (at < end) {
    let level = 0
    while (at % pow2(level + 1) === 0 && at + pow2(level + 1) <= end) level++
    nodes.push({ level, index: at / pow2(level) })
    at += pow2(level)
  }
  return nodes
}

/** MTH of a range from the hashes of its `rangeNodes`, in that order: h0 ∘ (h1 ∘ (… ∘ hk)). */
export function foldRange(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) throw new RangeError('an empty range has no subtree hashes to fold')
  let root = hashes[hashes.length - 1] as Uint8Array
  for (let i = hashes.length - 2; i >= 0; i--) root = nodeHash(hashes[i] as Uint8Array, root)
  return root
}

/** The ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size` (RFC 6962 PATH), bottom-up. */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new RangeError(`leaf index ${index} is not below tree size ${size}`)
  }
  const out: LeafRange[] = []
  const path = (start: number, end: number) => {
    const n = end - start
    if (n <= 1) return
    const k = splitPoint(n)
    if (index < start + k) {
      path(start, start + k)
      out.push([start + k, end])
    } else {
      path(start + k, end)
      out.push([start, start + k])
    }
  }
  path(0, size)
  return out
}

/** The ranges whose hashes form the consistency proof from size `from` to size `to` (RFC 6962 PROOF). */
export function consistencyRanges(from: number, to: number): LeafRange[] {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || from > to) {
    throw new RangeError(`size ${from} is not within 0..${to}`)
  }
  if (from === 0 || from === to) return []
  const out: LeafRange[] = []
  const sub = (m: number, start: number, end: number, complete: boolean) => {
    const n = end - start
    if (m === n) {
      if (!complete) out.push([start, end])
      return
    }
    const k = splitPoint(n)
    if (m <= k) {
      sub(m, start, start + k, complete)
      out.push([start + k, end])
    } else {
      sub(m - k, start + k, end, false)
      out.push([start, start + k])
    }
  }
  sub(from, 0, to, true)
  return out
}

/**
 * The right edge of a tree of `size` leaves: its perfect subtrees, largest first. A log that
 * appends keeps their hashes (the "compact range"); folding them gives the root.
 */
export function frontierNodes(size: number): TreeNode[] {
  return size === 0 ? [] : rangeNodes(0, size)
}

/**
 * Appends leaf hashes to a tree given by its frontier hashes (largest subtree first, as
 * `frontierNodes(size)`): returns the new frontier and every perfect subtree of height ≥ 1 the
 * appends completed, for the caller to store.
 */
export function appendLeaves(size: number, frontier: readonly Uint8Array[], leaves: readonly Uint8Array[]): { frontier: Uint8Array[]; completed: Array<TreeNode & { hash: Uint8Array }> } {
  const levels = frontierNodes(size).map((node) => node.level)
  if (levels.length !== frontier.length) throw new RangeError(`a tree of ${size} leaves has ${levels.length} frontier hashes, not ${frontier.length}`)
  const stack = frontier.map((hash, i) => ({ level: levels[i] as number, hash }))
  const completed: Array<TreeNode & { hash: Uint8Array }> = []
  let count = size
  for (const leaf of leaves) {
    let top = { level: 0, hash: leaf }
    count += 1
    while (stack.length > 0 && stack[stack.length - 1]!.level === top.level) {
      const left = stack.pop()!
      top = { level: top.level + 1, hash: nodeHash(left.hash, top.hash) }
      // The subtree just completed ends at the leaf appended: its index follows from the count.
      completed.push({ level: top.level, index: count / pow2(top.level) - 1, hash: top.hash })
    }
    stack.push(top)
  }
  return { frontier: stack.map((entry) => entry.hash), completed }
}
