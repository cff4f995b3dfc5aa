import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  checkConsistency,
  checkInclusion,
  consistencyProof,
  formatCheckpoint,
  inclusionProof,
  leafHash,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  rootHash,
  signCheckpoint,
  signNote,
  TlogError,
  verifierKey,
  verifyCheckpoint,
} from '@gatehouse/sdk'

// Known answers from golang.org/x/mod sumdb/note/note_test.go (BSD-3-Clause): TestNewVerifier,
// TestSign (Ed25519 is deterministic, so the same key and text give the same bytes) and TestOpen.
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop'
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n'
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n'

/** An Ed25519 private key from a 32-byte seed, wrapped in PKCS#8 DER (RFC 8410). */
function keyFromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
}

const peterKey = keyFromSeed(Buffer.from(PETER_SKEY.split('+').slice(4).join('+'), 'base64').subarray(1))

/**
 * A verifier written here from the signed-note spec alone, sharing no code with the SDK: split the
 * note at its last blank line, read `— <name> <base64>` lines, match the key id, check Ed25519.
 */
function standaloneVerify(note: string, name: string, publicKey: KeyObject): string | null {
  const split = note.lastIndexOf('\n\n')
  const body = note.slice(0, split + 1)
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url')
  const id = createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([0x01]), raw])).digest().subarray(0, 4)
  for (const line of note.slice(split + 2).split('\n').filter((l) => l !== '')) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line)
    if (m === null) return null
    const sig = Buffer.from(m[2] as string, 'base64')
    if (m[1] === name && sig.subarray(0, 4).equals(id) && verify(null, Buffer.from(body), publicKey, sig.subarray(4))) return body
  }
  return null
}

function logKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519')
}

const ORIGIN = 'gatehouse.example/spaces/sp_test'
const hashes = Array.from({ length: 20 }, (_, i) => leafHash(Buffer.from(`event ${i}`)))

describe('signed notes: known answers from Go sumdb/note', () => {
  it('derives the published verifier key and signs to the published bytes', () => {
    expect(verifierKey('PeterNeumann', peterKey)).toBe(PETER_VKEY)
    expect(verifierKey('PeterNeumann', createPublicKey(peterKey))).toBe(PETER_VKEY)
    expect(signNote(TEXT, 'PeterNeumann', peterKey)).toBe(`${TEXT}\n${PETER_SIG}`)
  })

  it('opens the published two-signature note with either key, ignoring the other signature', () => {
    const note = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`
    expect(openNote(note, PETER_VKEY)).toBe(TEXT)
    expect(openNote(note, ENOCH_VKEY)).toBe(TEXT)
    expect(openNote(Buffer.from(note), parseVerifierKey(ENOCH_VKEY))).toBe(TEXT)
    expect(() => openNote(`${TEXT}\n${ENOCH_SIG}`, PETER_VKEY)).toThrow(/no signature by PeterNeumann\+c74f20a3/)
  })

  it('rejects the malformed and forged notes of TestOpen', () => {
    const bad = [
      TEXT,
      `${TEXT}\n`,
      `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\x01${TEXT}\n${PETER_SIG}`,
      `${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
      `${TEXT}\n${PETER_SIG.repeat(101)}`,
      `${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`, // invalid signature by the known key
      `${TEXT}\n${PETER_SIG.replace('x08g', 'xxxx')}`, // wrong key id
      `${TEXT}\n${PETER_SIG.replaceAll('PeterNeumann', 'CarmenSandiego')}`,
      `${TEXT}\n${PETER_SIG}${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`, // a second, bad line by the same key
    ]
    for (const note of bad) expect(() => openNote(note, PETER_VKEY), JSON.stringify(note)).toThrow(TlogError)
    expect(() => openNote(Uint8Array.of(0xff, ...Buffer.from(`${TEXT}\n${PETER_SIG}`)), PETER_VKEY)).toThrow(/UTF-8/)
  })

  it('rejects every mangling of a verifier key (TestNewVerifier)', () => {
    expect(parseVerifierKey(PETER_VKEY).name).toBe('PeterNeumann')
    for (let i = 0; i <= PETER_VKEY.length; i++) {
      for (let j = i + 1; j <= PETER_VKEY.length; j++) {
        if (i !== 0 || j !== PETER_VKEY.length) expect(() => parseVerifierKey(PETER_VKEY.slice(i, j))).toThrow(TlogError)
      }
    }
    for (let i = 0; i < PETER_VKEY.length; i++) {
      const mangled = PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1)
      expect(() => parseVerifierKey(mangled), mangled).toThrow(TlogError)
    }
    expect(() => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==')).toThrow(TlogError)
    expect(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toThrow(TlogError)
  })
})

describe('checkpoints', () => {
  it('round-trips: format, sign, verify, and a standalone Ed25519 check from the spec agrees', () => {
    const { privateKey, publicKey } = logKeys()
    const root = rootHash(hashes.slice(0, 7))
    const body = formatCheckpoint({ origin: ORIGIN, treeSize: 7, rootHash: root })
    expect(body).toBe(`${ORIGIN}\n7\n${Buffer.from(root).toString('base64')}\n`)
    const note = signCheckpoint(body, ORIGIN, privateKey)
    expect(note.startsWith(`${body}\n\u2014 ${ORIGIN} `)).toBe(true)
    expect(standaloneVerify(note, ORIGIN, publicKey)).toBe(body)

    const vkey = verifierKey(ORIGIN, publicKey)
    const expected = { origin: ORIGIN, treeSize: 7, rootHash: root, extensions: [] }
    expect(verifyCheckpoint(note, vkey, { origin: ORIGIN })).toEqual(expected)
    expect(parseCheckpoint(note)).toEqual(expected)
    expect(parseCheckpoint(body)).toEqual(expected)

    const withExtension = signCheckpoint(formatCheckpoint({ ...expected, extensions: ['timestamp 1764578000'] }), ORIGIN, privateKey)
    expect(verifyCheckpoint(withExtension, vkey).extensions).toEqual(['timestamp 1764578000'])
  })

  it('fails when any line is tampered with, or the note is signed by another key', () => {
    const { privateKey, publicKey } = logKeys()
    const vkey = verifierKey(ORIGIN, publicKey)
    const root = rootHash(hashes.slice(0, 5))
    const note = signCheckpoint(formatCheckpoint({ origin: ORIGIN, treeSize: 5, rootHash: root }), ORIGIN, privateKey)
    const [origin, size, rootLine, blank, sigLine] = note.split('\n') as [string, string, string, string, string]
    const sig = Buffer.from(sigLine.split(' ')[2] as string, 'base64')
    const lines = (...l: string[]): string => `${l.join('\n')}\n`
    const flipped = (i: number): string => `\u2014 ${ORIGIN} ${Buffer.from(sig.map((b, k) => (k === i ? b ^ 1 : b))).toString('base64')}`
    const other = logKeys()
    const tampered: Record<string, string> = {
      origin: lines(`${origin}x`, size, rootLine, blank, sigLine),
      size: lines(origin, '6', rootLine, blank, sigLine),
      root: lines(origin, size, Buffer.from(rootHash(hashes.slice(0, 6))).toString('base64'), blank, sigLine),
      extension: lines(origin, size, rootLine, 'extra', blank, sigLine),
      'key id byte': lines(origin, size, rootLine, blank, flipped(0)),
      'signature byte': lines(origin, size, rootLine, blank, flipped(40)),
      'key name': lines(origin, size, rootLine, blank, sigLine.replace(ORIGIN, `${ORIGIN}2`)),
      'em dash': lines(origin, size, rootLine, blank, sigLine.replace('\u2014', '-')),
      'no final newline': note.slice(0, -1),
      'CRLF line ends': note.replaceAll('\n', '\r\n'),
      'another key, same name': signCheckpoint(formatCheckpoint({ origin: ORIGIN, treeSize: 5, rootHash: root }), ORIGIN, other.privateKey),
    }
    expect(verifyCheckpoint(lines(origin, size, rootLine, blank, sigLine), vkey).treeSize).toBe(5)
    for (const [what, text] of Object.entries(tampered)) expect(() => verifyCheckpoint(text, vkey), what).toThrow(TlogError)
    expect(() => verifyCheckpoint(note, verifierKey(ORIGIN, other.publicKey))).toThrow(/no signature by/)
    expect(() => verifyCheckpoint(note, vkey, { origin: 'gatehouse.example/spaces/sp_other' })).toThrow(/not "gatehouse.example\/spaces\/sp_other"/)
    // A second signature by a key the verifier does not know is ignored.
    expect(verifyCheckpoint(`${note}${signNote(`${origin}\n${size}\n${rootLine}\n`, 'witness.example', other.privateKey).split('\n\n')[1]}`, vkey).treeSize).toBe(5)
  })

  it('refuses malformed bodies: sizes, base64, empty or missing lines', () => {
    const root = Buffer.from(rootHash(hashes.slice(0, 3))).toString('base64')
    const body = (size: string, r = root, origin = ORIGIN): string => `${origin}\n${size}\n${r}\n`
    expect(parseCheckpoint(body('0')).treeSize).toBe(0)
    expect(parseCheckpoint(body('9007199254740991')).treeSize).toBe(2 ** 53 - 1)
    for (const size of ['007', '00', '+7', '-1', ' 7', '7 ', '0x7', '1e3', '', '9007199254740992', '9223372036854775808', '18446744073709551616']) {
      expect(() => parseCheckpoint(body(size)), size).toThrow(TlogError)
    }
    const nonCanonical = `${root.slice(0, 42)}${String.fromCharCode(root.charCodeAt(42) + 1)}=`
    for (const r of [nonCanonical, root.slice(0, -1), `${root}=`, root.replace(/=$/, 'A'), Buffer.alloc(31).toString('base64'), Buffer.alloc(33).toString('base64'), `${root} `]) {
      expect(() => parseCheckpoint(body('3', r)), r).toThrow(TlogError)
    }
    expect(() => parseCheckpoint(body('3', root, ''))).toThrow(/origin is empty/)
    expect(() => parseCheckpoint(body('3', root, 'a\tb'))).toThrow(TlogError)
    expect(() => parseCheckpoint(`${ORIGIN}\n3\n`)).toThrow(/three lines/)
    expect(() => parseCheckpoint(`${ORIGIN}\n3\n${root}`)).toThrow(/newline/)
    expect(() => parseCheckpoint(`${body('3')}ext\n\n`)).toThrow(TlogError)
    const { privateKey } = logKeys()
    expect(() => signCheckpoint(`${ORIGIN}\n03\n${root}\n`, ORIGIN, privateKey)).toThrow(TlogError)
    expect(() => signCheckpoint(body('3'), 'bad name', privateKey)).toThrow(TlogError)
    expect(() => formatCheckpoint({ origin: `${ORIGIN}\n9`, treeSize: 3, rootHash: new Uint8Array(32) })).toThrow(TlogError)
    expect(() => formatCheckpoint({ origin: ORIGIN, treeSize: -1, rootHash: new Uint8Array(32) })).toThrow(TlogError)
    expect(() => formatCheckpoint({ origin: ORIGIN, treeSize: 3, rootHash: new Uint8Array(31) })).toThrow(TlogError)
  })

  it('checks inclusion in, and consistency between, verified checkpoints of one log', () => {
    const { privateKey, publicKey } = logKeys()
    const vkey = verifierKey(ORIGIN, publicKey)
    const at = (size: number, origin = ORIGIN): string => signCheckpoint(formatCheckpoint({ origin, treeSize: size, rootHash: rootHash(hashes.slice(0, size)) }), origin, privateKey)
    const older = verifyCheckpoint(at(6), vkey)
    const newer = verifyCheckpoint(at(20), vkey)
    expect(checkConsistency(older, newer, consistencyProof(hashes, 6, 20))).toEqual({ ok: true })
    expect(checkConsistency(newer, older, consistencyProof(hashes, 6, 20)).ok).toBe(false)
    expect(checkInclusion(newer, hashes[13] as Uint8Array, 13, inclusionProof(hashes, 13, 20))).toEqual({ ok: true })
    expect(checkInclusion(older, hashes[3] as Uint8Array, 3, inclusionProof(hashes, 3, 20)).ok).toBe(false)
    const elsewhere = verifyCheckpoint(at(6, 'gatehouse.example/spaces/sp_other'), verifierKey('gatehouse.example/spaces/sp_other', publicKey))
    expect(checkConsistency(elsewhere, newer, consistencyProof(hashes, 6, 20))).toMatchObject({ ok: false, reason: expect.stringMatching(/different logs/) })
  })
})
