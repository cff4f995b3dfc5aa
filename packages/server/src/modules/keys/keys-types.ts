import type { Queryable } from '../../db/db.js'

/**
 * A key-encryption service: the master key (KEK) never leaves it. The local implementation holds
 * the key in memory (local-kms.ts); a cloud KMS can implement the same three members.
 * `context` is bound to the wrapped bytes (as associated data): a wrapped key or secret only
 * unwraps under the context it was wrapped with.
 */
export interface Kms {
  /** A short, public fingerprint of the master key (`mk_` + 16 hex digits for the local one). */
  readonly keyId: string
  wrap(plain: Buffer, context: string): Promise<Buffer>
  unwrap(wrapped: Buffer, context: string): Promise<Buffer>
}

export interface VersionedKey {
  version: number
  key: Buffer
}

export interface IndexKeys {
  current: VersionedKey
  /** The version before the current one while it is not retired (a re-indexing job is running). */
  previous: VersionedKey | null
}

/** A stored wrapped key row (data key or index key). */
export interface WrappedKeyRow {
  version: number
  kekId: string
  wrapped: Buffer | null
  retiredAt: Date | null
}

/** What a module storing secrets needs of the key service. */
export interface SecretSealer {
  /** Seals under the master key; `context` names the secret's place and must be given again to open it. */
  sealSecret(plain: string, context: string): Promise<string>
  /** Opens a sealed secret; a plain one (stored before sealing, not yet migrated) comes back as it is. */
  openSecret(stored: string, context: string): Promise<string>
  registerSecretHolder(holder: SecretHolder): void
}

/**
 * A module that stores secrets sealed under the master key (webhooks, SSO, vault signing keys)
 * registers one of these, so a master key rotation can rewrap them and a start can seal the plain
 * rows left by an older version. The key service never reads another module's tables itself.
 */
export interface SecretHolder {
  /** For logs and errors: 'webhook signing secrets'. */
  readonly name: string
  /**
   * Calls `reseal` on every stored secret of this holder (sealed, or plain from before sealing)
   * within `q`, writing back the value it returns when it differs. Returns how many were rewritten.
   */
  resealAll(q: Queryable, reseal: (stored: string, context: string) => Promise<string>): Promise<number>
}

/**
 * The change-feed topic of a space's keys (data keys and every field's index keys): every write that
 * adds, retires or rewraps one touches it in its transaction, so each node's field-key cache drops
 * the space's keys (docs/nodes.md).
 */
export const keysTopic = (spaceId: string): string => `keys:${spaceId}`

/** A space's current data key (encrypts) and every live version by number (decrypts; undefined: unknown or retired). */
export interface DataKeys {
  current: VersionedKey
  versions: (version: number) => Buffer | undefined
}

/** What the vault's data path asks of the keys, with no transaction: answered from the field-key cache. */
export interface FieldKeys {
  dataKeys(spaceId: string): Promise<DataKeys>
  indexKeys(spaceId: string, model: string, field: string): Promise<IndexKeys>
}
