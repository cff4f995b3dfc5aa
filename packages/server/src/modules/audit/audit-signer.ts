import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
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
  /** Null when the signature is good, else why not. */
  check(checkpoint: SignedCheckpoint): string | null
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
    check(checkpoint) {
      if (checkpoint.keyId !== keyId) return `checkpoint was signed with key ${checkpoint.keyId}, this server's key is ${keyId}`
      const { signature, ...body } = checkpoint
      const good = verify(null, payload(body), publicKey, Buffer.from(signature, 'base64url'))
      return good ? null : 'checkpoint signature is not valid: the checkpoint was altered or forged'
    },
  }
}

/** Reads the PEM key at `path`, creating it (mode 0600) on first use. */
export function loadOrCreateSigningKey(path: string): { key: KeyObject; created: boolean } {
  if (existsSync(path)) return { key: createPrivateKey(readFileSync(path)), created: false }
  mkdirSync(dirname(path), { recursive: true })
  const { privateKey } = generateKeyPairSync('ed25519')
  try {
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' })
  } catch (error) {
    // Another process created it first: use theirs, so that both sign with one key.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { key: createPrivateKey(readFileSync(path)), created: false }
    throw error
  }
  return { key: privateKey, created: true }
}
