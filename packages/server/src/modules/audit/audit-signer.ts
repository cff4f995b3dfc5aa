import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { signNote, verifierKey } from '@gatehouse/sdk'
import { sha256Hex } from '../../lib/secrets.js'
import { canonicalJson } from './audit-chain.js'
import type { CheckpointBody, SignedCheckpoint } from './audit-types.js'

/**
 * Signs checkpoints of a chain head with an Ed25519 key kept outside the database, so that
 * someone who can rewrite the database cannot also forge the signatures over its past heads.
 */
export interface CheckpointSigner {
  readonly keyId: string
  readonly publicKeyPem: string
  sign(body: Omit<CheckpointBody, 'keyId'>): SignedCheckpoint
  /**
   * Null when the signature is good, else why not. A checkpoint of another key is checked with
   * `otherKeys` (key id → SPKI PEM: the earlier keys whose public keys the database keeps).
   */
  check(checkpoint: SignedCheckpoint, otherKeys?: ReadonlyMap<string, string>): string | null
  /** Signs a C2SP note text (a tlog-checkpoint) as key `name`. */
  signNote(text: string, name: string): string
  /** The C2SP verifier key (`<name>+<key id>+<base64 key>`) that checks notes signed as `name`. */
  verifierKey(name: string): string
}

export function createCheckpointSigner(privateKey: KeyObject): CheckpointSigner {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the audit signing key must be an Ed25519 private key')
  const publicKey = createPublicKey(privateKey)
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const keyId = sha256Hex(publicKey.export({ type: 'spki', format: 'der' }).toString('base64')).slice(0, 16)
  const payload = (body: CheckpointBody) => Buffer.from(canonicalJson(body))

  return {
    keyId,
    publicKeyPem,
    sign(body) {
      const full: CheckpointBody = { space: body.space, seq: body.seq, hash: body.hash, time: body.time, keyId }
      return { ...full, signature: sign(null, payload(full), privateKey).toString('base64url') }
    },
    check(checkpoint, otherKeys) {
      const otherPem = checkpoint.keyId === keyId ? undefined : otherKeys?.get(checkpoint.keyId)
      if (checkpoint.keyId !== keyId && otherPem === undefined) {
        return `checkpoint was signed with key ${checkpoint.keyId}, which is neither this server's key (${keyId}) nor an earlier one it keeps`
      }
      const { signature, ...body } = checkpoint
      const good = verify(null, payload(body), otherPem === undefined ? publicKey : createPublicKey(otherPem), Buffer.from(signature, 'base64url'))
      return good ? null : 'checkpoint signature is not valid: the checkpoint was altered or forged'
    },
    signNote: (text, name) => signNote(text, name, privateKey),
    verifierKey: (name) => verifierKey(name, publicKey),
  }
}

/**
 * A signer whose key is chosen later (at start, under the migration lock, once the database has
 * agreed to it). The app is built with it before that; it serves nothing until then.
 */
export function createDeferredSigner(): { signer: CheckpointSigner; resolve(actual: CheckpointSigner): void } {
  let actual: CheckpointSigner | null = null
  const get = (): CheckpointSigner => {
    if (!actual) throw new Error('the audit signing key is not chosen yet: the server is still starting')
    return actual
  }
  return {
    signer: {
      get keyId() {
        return get().keyId
      },
      get publicKeyPem() {
        return get().publicKeyPem
      },
      sign: (body) => get().sign(body),
      check: (checkpoint, otherKeys) => get().check(checkpoint, otherKeys),
      signNote: (text, name) => get().signNote(text, name),
      verifierKey: (name) => get().verifierKey(name),
    },
    resolve: (chosen) => {
      actual = chosen
    },
  }
}

/**
 * Reads the PEM key at `path`; when there is no file, makes a new key in memory only. The caller
 * writes it (`saveSigningKey`) once the database has agreed to it: a node must never silently
 * start a second key for a log whose checkpoints another key has signed.
 */
export function loadSigningKey(path: string): { key: KeyObject; created: boolean } {
  if (existsSync(path)) return { key: createPrivateKey(readFileSync(path)), created: false }
  return { key: generateKeyPairSync('ed25519').privateKey, created: true }
}

/** Writes a key made by `loadSigningKey` (mode 0600); refuses to overwrite a file that appeared meanwhile. */
export function saveSigningKey(path: string, key: KeyObject): void {
  mkdirSync(dirname(path), { recursive: true })
  try {
    writeFileSync(path, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`the audit signing key file ${path} was created by another process while this one started; start again to use it`)
    }
    throw error
  }
}
