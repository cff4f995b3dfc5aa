import type { Queryable } from '../../db/db.js'
import { runInTransaction } from '../../db/db.js'
import { createCheckpointSigner, loadSigningKey, saveSigningKey, type CheckpointSigner } from './audit-signer.js'
import type { AuditStore } from './audit-store.js'

/** The database and the key file disagree: the server must not start. */
export class AuditKeyMismatchError extends Error {}

export interface AuditKeyStart {
  /** GATEHOUSE_AUDIT_KEY_FILE: read here; written only when the database accepts a new key. */
  keyFile: string
  /** GATEHOUSE_AUDIT_KEY_ROTATE_FROM: the key id the operator is rotating away from, if any. */
  rotateFrom: string | null
  clock: () => Date
}

export type AuditKeyOutcome = 'current' | 'registered' | 'rotated'

/**
 * Decides at start which key this node signs checkpoints with. Runs under the migration lock, so
 * nodes starting at once decide one after another (and one reads the key file another just wrote).
 * The database's current key (or, for a log older than the key table, the key of its newest
 * checkpoint) is the one every node must hold; a node with another key, or with no key file (it
 * would make a second key), is refused with a message naming both, unless the operator names the
 * current key in `rotateFrom`: then that key is retired, its public key kept so its checkpoints
 * still verify, and this node's key becomes the current one. A new key file is written only once
 * the database has accepted its key.
 */
export async function adoptAuditKey(conn: Queryable, store: AuditStore, start: AuditKeyStart): Promise<{ signer: CheckpointSigner; outcome: AuditKeyOutcome }> {
  const { keyFile } = start
  const { key, created } = loadSigningKey(keyFile)
  const signer = createCheckpointSigner(key)
  const outcome = await decide(conn, store, { ...start, signer, created, save: () => saveSigningKey(keyFile, key) })
  return { signer, outcome }
}

async function decide(
  conn: Queryable,
  store: AuditStore,
  start: AuditKeyStart & { signer: CheckpointSigner; created: boolean; save: () => void },
): Promise<AuditKeyOutcome> {
  const { signer, keyFile, created } = start
  const keys = await store.listSigningKeys(conn)
  const current = keys.find((key) => key.retiredAt === null) ?? null
  const expected = current?.keyId ?? (await store.newestCheckpointKeyId(conn))

  if (expected === null || expected === signer.keyId) {
    if (current?.keyId === signer.keyId) return 'current'
    if (keys.some((key) => key.keyId === signer.keyId)) {
      throw new AuditKeyMismatchError(`the audit signing key in ${keyFile} (key id ${signer.keyId}) was retired by a rotation; a retired key never signs again`)
    }
    if (created) start.save()
    if (!(await store.addCurrentSigningKey(conn, signer.keyId, signer.publicKeyPem))) {
      throw new AuditKeyMismatchError(`another node registered a different audit signing key while this one started; start again`)
    }
    return 'registered'
  }

  const found = created ? `there is no key file at ${keyFile} (this node would have made a new key)` : `${keyFile} holds key id ${signer.keyId}`
  if (start.rotateFrom !== expected) {
    throw new AuditKeyMismatchError(
      `the audit log's checkpoints are signed with key id ${expected}, but ${found}. ` +
        `Give this node the same key file as the others (GATEHOUSE_AUDIT_KEY_FILE), ` +
        `or, to rotate to this key, set GATEHOUSE_AUDIT_KEY_ROTATE_FROM=${expected}`,
    )
  }
  if (!current) {
    throw new AuditKeyMismatchError(
      `cannot rotate away from audit key id ${expected}: its public key is not recorded, so its checkpoints could no longer be verified. ` +
        `Start once with that key's file so it is recorded, then rotate`,
    )
  }
  if (keys.some((key) => key.keyId === signer.keyId)) {
    throw new AuditKeyMismatchError(`cannot rotate to the audit key in ${keyFile} (key id ${signer.keyId}): it was retired by an earlier rotation`)
  }
  if (created) start.save()
  await runInTransaction(conn, async (tx) => {
    await store.retireCurrentSigningKey(tx, start.clock())
    if (!(await store.addCurrentSigningKey(tx, signer.keyId, signer.publicKeyPem))) throw new AuditKeyMismatchError(`the audit key rotation raced another one; start again`)
  })
  return 'rotated'
}
