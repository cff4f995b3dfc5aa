import type { Db, Queryable } from '../../db/db.js'
import type { AuditService } from '../audit/audit-service.js'
import { createKeyService } from './keys-service.js'
import { createKeysStore } from './keys-store.js'
import type { Kms } from './keys-types.js'

export type { Kms, IndexKeys, SecretHolder, SecretSealer, VersionedKey } from './keys-types.js'
export type { KeyService } from './keys-service.js'
export { createKeyService, isSealedSecret, keyContext, SEALED_SECRET_PREFIX } from './keys-service.js'
export { createKeysStore, type KeysStore } from './keys-store.js'
export { createLocalKms, masterKeyId } from './local-kms.js'

export function createKeysModule(deps: { db: Db; kms: Kms; previousKms?: Kms | null; clock: () => Date; audit?: Pick<AuditService, 'append'>; spaceIds?: (q: Queryable) => Promise<string[]> }) {
  const store = createKeysStore()
  const service = createKeyService({ db: deps.db, kms: deps.kms, previous: deps.previousKms ?? null, clock: deps.clock, store, ...(deps.audit ? { audit: deps.audit } : {}), ...(deps.spaceIds ? { spaceIds: deps.spaceIds } : {}) })
  return { store, service }
}
