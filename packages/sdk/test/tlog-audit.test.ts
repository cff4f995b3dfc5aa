import { generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  auditLeafHash,
  auditOrigin,
  canonicalJson,
  consistencyProof,
  formatCheckpoint,
  inclusionProof,
  rootHash,
  signCheckpoint,
  verifierKey,
  verifyConsistencyProof,
  verifyExport,
  verifyInclusionProof,
  type AuditLogEvent,
} from '@gatehouse/sdk'

// Offline checks of Gatehouse audit events against signed checkpoints, with only the verifier key.

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const name = 'gatehouse.example.com'
const vkey = verifierKey(name, publicKey)
const origin = auditOrigin(name, 'default')

const events: AuditLogEvent[] = Array.from({ length: 50 }, (_, i) => ({
  id: `evt_${i}`,
  space: 'default',
  seq: i + 1,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  actor: { kind: 'user', id: `usr_${i % 3}` },
  event: 'vault/read',
  resources: [{ kind: 'customer', id: `c_${i}` }],
  meta: { i, ids: [String(i)] },
}))
const leaves = events.map((event) => auditLeafHash(event))
const checkpointAt = (size: number) => signCheckpoint(formatCheckpoint({ origin, treeSize: size, rootHash: rootHash(leaves.slice(0, size)) }), name, privateKey)
const b64 = (hashes: Uint8Array[]) => hashes.map((hash) => Buffer.from(hash).toString('base64'))

describe('canonical JSON', () => {
  it('matches RFC 8785 on its examples: sorted keys, ECMAScript numbers, no whitespace', () => {
    expect(canonicalJson({ b: [1e21, 1.5, -0, 'é\n'], a: { d: null, c: true } })).toBe('{"a":{"c":true,"d":null},"b":[1e+21,1.5,0,"é\\n"]}')
    // RFC 8785 §3.2.3: keys sorted by their UTF-16 code units.
    const keys = ['\u20ac', '\r', '\ufb33', '1', '\ud83d\ude00', '\u0080', '\u00f6']
    const sorted = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']
    expect(canonicalJson(Object.fromEntries(keys.map((key, i) => [key, i])))).toBe(`{${sorted.map((key) => `${JSON.stringify(key)}:${keys.indexOf(key)}`).join(',')}}`)
    expect(() => canonicalJson({ x: Number.NaN })).toThrow()
  })
})

describe('verifying audit proofs offline', () => {
  it('an inclusion proof of any event verifies; of a changed event, another position, another size or another space it does not', () => {
    const note = checkpointAt(50)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 49 }), fc.integer({ min: 0, max: 49 }), (i, j) => {
        const proof = { leafIndex: i, treeSize: 50, hashes: b64(inclusionProof(leaves, i, 50)) }
        expect(verifyInclusionProof(events[i]!, proof, note, vkey)).toEqual({ ok: true })
        expect(verifyInclusionProof({ ...events[i]!, meta: { i: -1 } }, proof, note, vkey).ok).toBe(false)
        if (i !== j) expect(verifyInclusionProof(events[j]!, proof, note, vkey).ok).toBe(false)
        expect(verifyInclusionProof({ ...events[i]!, space: 'other' }, proof, note, vkey).ok).toBe(false)
        // A proof made for a smaller tree, presented as this checkpoint's: refused (size from the checkpoint).
        if (i < 49) {
          const small = { leafIndex: i, treeSize: 49, hashes: b64(inclusionProof(leaves, i, 49)) }
          expect(verifyInclusionProof(events[i]!, small, note, vkey).ok).toBe(false)
          expect(verifyInclusionProof(events[i]!, { ...small, treeSize: 50 }, note, vkey).ok).toBe(false)
        }
      }),
      { numRuns: 60 },
    )
    const other = generateKeyPairSync('ed25519')
    const proof = { leafIndex: 0, treeSize: 50, hashes: b64(inclusionProof(leaves, 0, 50)) }
    expect(verifyInclusionProof(events[0]!, proof, note, verifierKey(name, other.publicKey))).toMatchObject({ ok: false, reason: expect.stringContaining('checkpoint refused') })
  })

  it('a consistency proof ties an old checkpoint to a newer one; swapped, altered or for other sizes it does not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 50 }), fc.nat(), (x, y, bit) => {
        const [from, to] = x <= y ? [x, y] : [y, x]
        const proof = { from, to, hashes: b64(consistencyProof(leaves, from, to)) }
        expect(verifyConsistencyProof(checkpointAt(from), checkpointAt(to), proof, vkey)).toEqual({ ok: true })
        if (from !== to) {
          expect(verifyConsistencyProof(checkpointAt(to), checkpointAt(from), proof, vkey).ok).toBe(false)
          const bytes = Buffer.from(proof.hashes[0]!, 'base64')
          bytes[bit % 32]! ^= 1 << (bit % 8)
          expect(verifyConsistencyProof(checkpointAt(from), checkpointAt(to), { ...proof, hashes: [bytes.toString('base64'), ...proof.hashes.slice(1)] }, vkey).ok).toBe(false)
        }
        if (to < 50) expect(verifyConsistencyProof(checkpointAt(from), checkpointAt(to + 1), proof, vkey).ok).toBe(false)
      }),
      { numRuns: 60 },
    )
  })

  it('a whole export verifies against its checkpoints; every modified, inserted, deleted or reordered event fails', async () => {
    const notes = [checkpointAt(10), checkpointAt(50)]
    expect(await verifyExport(events, notes, vkey)).toMatchObject({ ok: true, events: 50, firstBad: null, checkpoints: [{ treeSize: 10, ok: true }, { treeSize: 50, ok: true }] })
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 49 }), fc.integer({ min: 0, max: 3 }), async (i, how) => {
        const copy = events.map((event) => ({ ...event }))
        if (how === 0) copy[i] = { ...copy[i]!, meta: { tampered: true } }
        if (how === 1) copy.splice(i, 0, { ...copy[i]!, id: 'evt_inserted' })
        if (how === 2) copy.splice(i, 1)
        if (how === 3) {
          const j = (i + 1) % 50
          ;[copy[i], copy[j]] = [{ ...copy[j]!, seq: copy[i]!.seq }, { ...copy[i]!, seq: copy[j]!.seq }]
        }
        expect((await verifyExport(copy, notes, vkey)).ok).toBe(false)
      }),
      { numRuns: 100 },
    )
    const short = await verifyExport(events.slice(0, 30), notes, vkey)
    expect(short.checkpoints[1]).toMatchObject({ ok: false, reason: expect.stringContaining('deleted') })
  })
})
