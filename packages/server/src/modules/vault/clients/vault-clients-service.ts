import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { Db } from '../../../db/db.js'
import { notFound } from '../../../http/errors.js'
import { base32, newId } from '../../../lib/ids.js'
import { newSecret, sha256Hex } from '../../../lib/secrets.js'
import type { AuditService } from '../../audit/audit-service.js'
import type { Principal } from '../../auth/auth-types.js'
import type { ChangeFeed } from '../../../db/change-feed.js'
import { vaultTopic } from '../control-cache.js'
import type { VaultPoliciesStore } from '../policies/vault-policies-store.js'
import type { VaultClient, VaultClientRecord } from './vault-client-types.js'
import type { VaultClientsStore } from './vault-clients-store.js'

/** What an admin sees of a client: never its space or secret hash. */
const publicView = ({ spaceId: _space, secretHash: _hash, ...client }: VaultClientRecord): VaultClient => client

export function createVaultClientsService(deps: { db: Db; store: VaultClientsStore; policies: Pick<VaultPoliciesStore, 'get'>; audit: Pick<AuditService, 'append'>; changes: Pick<ChangeFeed, 'touch' | 'announce'> }) {
  const { db, store, audit, changes } = deps
  return {
    /** The secret is in this answer only; the server keeps its SHA-256. */
    async create(by: Principal, input: { name: string; policyId: string }): Promise<VaultClient & { clientSecret: string }> {
      if (!(await deps.policies.get(db, by.spaceId, input.policyId))) throw notFound('vault access policy', input.policyId)
      const { secret, hash } = newSecret('ghc')
      const client = { id: newId('vcl'), clientId: `vc_${base32(randomBytes(12))}`, name: input.name, policyId: input.policyId, secretHash: hash }
      await db.transaction(async (tx) => {
        await store.insert(tx, by.spaceId, client)
        await audit.append(tx, by.spaceId, { event: 'vault/client_create', actor: by.actor, resources: [{ kind: 'vault_client', id: client.clientId }], meta: { name: input.name, policyId: input.policyId } })
      })
      const created = (await store.byClientId(db, client.clientId))!
      return { ...publicView(created), clientSecret: secret }
    },

    list: async (spaceId: string) => (await store.list(db, spaceId)).map(publicView),

    async delete(by: Principal, id: string): Promise<void> {
      await db.transaction(async (tx) => {
        if (!(await store.delete(tx, by.spaceId, id))) throw notFound('vault client', id)
        await audit.append(tx, by.spaceId, { event: 'vault/client_delete', actor: by.actor, resources: [{ kind: 'vault_client', id }] })
        await changes.touch(tx, vaultTopic(by.spaceId))
      })
      changes.announce(vaultTopic(by.spaceId))
    },

    /** client_id and secret → the client, or null. The hash comparison takes the same time either way. */
    async authenticate(clientId: string, secret: string): Promise<VaultClientRecord | null> {
      const client = await store.byClientId(db, clientId)
      const given = Buffer.from(sha256Hex(secret), 'hex')
      const expected = Buffer.from(client?.secretHash ?? '0'.repeat(64), 'hex')
      return client && timingSafeEqual(given, expected) ? client : null
    },

    byClientId: (clientId: string) => store.byClientId(db, clientId),
  }
}

export type VaultClientsService = ReturnType<typeof createVaultClientsService>
