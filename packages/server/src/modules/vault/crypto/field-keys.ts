import type { Queryable } from '../../../db/db.js'

/** One version of a key, unwrapped: 32 bytes. */
export interface FieldKey {
  version: number
  key: Buffer
}

/**
 * The keys the vault's data path needs, from the key service (which keeps them wrapped under the
 * master key, with versions). During a rotation more than one version is live: the current one
 * encrypts and indexes; every listed one still decrypts, and every listed index key is searched,
 * until the re-encryption or re-indexing job has moved every record to the current one.
 */
export interface FieldKeys {
  /** The space's data keys: `current` encrypts; `readable` (current first) decrypt. */
  dataKeys(q: Queryable, spaceId: string): Promise<{ current: FieldKey; readable: FieldKey[] }>
  /** One field's index keys: `current` indexes new values; `searchable` (current first) are all looked up. */
  indexKeys(q: Queryable, spaceId: string, model: string, field: string): Promise<{ current: FieldKey; searchable: FieldKey[] }>
}
