import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  appendLeaves,
  consistencyProof,
  consistencyRanges,
  foldRange,
  inclusionProof,
  inclusionRanges,
  leafHash,
  rangeNodes,
  rootHash,
} from '@gatehouse/sdk'

// Proofs answered from stored perfect subtrees (what the server keeps) are exactly the RFC 6962
// proofs made from all leaves in memory, for random trees.

const leaves = (count: number) => Array.from({ length: count }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)))

/** Every perfect subtree of a tree, as the server stores it: key `level:index`. */
function store(hashes: Uint8Array[]): Map<string, Uint8Array> {
  const nodes = new Map<string, Uint8Array>()
  hashes.forEach((hash, i) => nodes.set(`0:${i}`, hash))
  const { completed } = appendLeaves(0, [], hashes)
  for (const node of completed) nodes.set(`${node.level}:${node.index}`, node.hash)
  return nodes
}

const fromStore = (nodes: Map<string, Uint8Array>, ranges: ReadonlyArray<readonly [number, number]>) =>
  ranges.map(([start, end]) => foldRange(rangeNodes(start, end).map((node) => nodes.get(`${node.level}:${node.index}`)!)))

describe('proofs from stored subtrees', () => {
  it('equal the in-memory RFC 6962 proofs, and appending keeps the root and the stored subtrees right', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 40 }), (size, a, b, chunk) => {
        const hashes = leaves(size)
        // Appended in chunks, as batches of the sequencer: the same subtrees and root as all at once.
        let frontier: Uint8Array[] = []
        const nodes = new Map<string, Uint8Array>()
        hashes.forEach((hash, i) => nodes.set(`0:${i}`, hash))
        for (let at = 0; at < size; at += chunk) {
          const grown = appendLeaves(at, frontier, hashes.slice(at, at + chunk))
          frontier = grown.frontier
          for (const node of grown.completed) nodes.set(`${node.level}:${node.index}`, node.hash)
        }
        expect(foldRange(frontier)).toEqual(rootHash(hashes))
        expect(nodes).toEqual(store(hashes))

        const index = a % size
        expect(fromStore(nodes, inclusionRanges(index, size))).toEqual(inclusionProof(hashes, index, size))
        const from = b % (size + 1)
        expect(fromStore(nodes, consistencyRanges(from, size))).toEqual(consistencyProof(hashes, from, size))
      }),
      { numRuns: 80 },
    )
  })

  it('name only subtrees that exist in the tree of the proof’s size', () => {
    for (let size = 1; size <= 70; size++) {
      for (let index = 0; index < size; index++) {
        for (const [start, end] of inclusionRanges(index, size)) {
          expect(end).toBeLessThanOrEqual(size)
          for (const node of rangeNodes(start, end)) expect((node.index + 1) * 2 ** node.level).toBeLessThanOrEqual(size)
        }
      }
    }
  })

  it('refuse sizes and indexes out of range', () => {
    expect(() => inclusionRanges(5, 5)).toThrow(RangeError)
    expect(() => consistencyRanges(6, 5)).toThrow(RangeError)
    expect(() => appendLeaves(3, [], leaves(1))).toThrow(RangeError)
    expect(consistencyRanges(0, 9)).toEqual([])
    expect(consistencyRanges(9, 9)).toEqual([])
  })
})
