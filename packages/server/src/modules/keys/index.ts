import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db, Queryable } from '../../db/db.js'
import type { AuditService } from '../audit/audit-service.js'
import { createFieldKeyCache } from './field-key-cache.js'
import { createKeyService } from './keys-service.js'
import { createKeysStore } from './keys-store.js'
import type { Kms } from './keys-types.js'

export type { DataKeys, FieldKeys, Kms, IndexKeys, SecretHolder, SecretSealer, VersionedKey } from './keys-types.js'
export { keysTopic } from './keys-types.js'
export { createFieldKeyCache } from './field-key-cache.js'
export type { KeyService } from './keys-service.js'
export { createKeyService, isSealedSecret, keyContext, SEALED_SECRET_PREFIX } from './keys-service.js'
export { createKeysStore, type KeysStore } from './keys-store.js'
export { createLocalKms, masterKeyId } from './local-kms.js'

export function createKeysModule(deps: { db: Db; kms: Kms; previousKms?: Kms | null; clock: () => Date; audit?: Pick<AuditService, 'append'>; spaceIds?: (q: Queryable) => Promise<string[]>; changes: ChangeFeed }) {
  const store = createKeysStore()
  const service = createKeyService({ db: deps.db, kms: deps.kms, previous: deps.previousKms ?? null, clock: deps.clock, store, changes: deps.changes, ...(deps.audit ? { audit: deps.audit } : {}), ...(deps.spaceIds ? { spaceIds: deps.spaceIds } : {}) })
  /** The vault's data path reads keys through this cache; rotations and jobs use `service` directly. */
  const fieldKeys = createFieldKeyCache({ db: deps.db, keys: service, changes: deps.changes })
  return { store, service, fieldKeys }
}
