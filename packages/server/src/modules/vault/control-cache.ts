import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db } from '../../db/db.js'
import { createTopicCache } from '../../lib/topic-cache.js'
import type { VaultClientRecord } from './clients/vault-client-types.js'
import type { VaultClientsStore } from './clients/vault-clients-store.js'
import type { ModelsStore } from './models/models-store.js'
import type { Model } from './models/model-types.js'
import type { VaultPoliciesStore } from './policies/vault-policies-store.js'
import type { VaultPolicy } from './policies/vault-policy-types.js'

/**
 * The change-feed topic of a space's vault control plane: its clients, access policies and models.
 * Every write that deletes or changes one touches it in its transaction and announces it after.
 */
export const vaultTopic = (spaceId: string) => `vault:${spaceId}`

type Entry = { kind: 'client'; value: VaultClientRecord } | { kind: 'policy'; value: VaultPolicy } | { kind: 'model'; value: Model }

/**
 * What the data plane reads at every call before touching a record — the vault client, its access
 * policy, the model — cached per process and dropped on every node when the space's vault topic
 * moves (docs/nodes.md). Only things found are kept: a client, policy or model created after a miss
 * is found at the next call. Cached objects are shared between requests: callers never mutate them.
 */
export function createVaultControlCache(deps: {
  db: Db
  clients: Pick<VaultClientsStore, 'byClientId'>
  policies: Pick<VaultPoliciesStore, 'get'>
  models: Pick<ModelsStore, 'get'>
  changes: Pick<ChangeFeed, 'generation' | 'fresh' | 'subscribe'>
  maxEntries?: number
}) {
  const cache = createTopicCache<Entry>({ feed: deps.changes, maxEntries: deps.maxEntries ?? 10_000 })
  const { db } = deps
  return {
    /** The live client with this client_id in this space (the space its token names), or null. */
    async client(spaceId: string, clientId: string): Promise<VaultClientRecord | null> {
      const entry = await cache.get(vaultTopic(spaceId), `${spaceId}\nclient\n${clientId}`, async () => {
        const client = await deps.clients.byClientId(db, clientId)
        return client && client.spaceId === spaceId ? { kind: 'client', value: client } : null
      })
      return entry?.kind === 'client' ? entry.value : null
    },

    async policy(spaceId: string, policyId: string): Promise<VaultPolicy | null> {
      const entry = await cache.get(vaultTopic(spaceId), `${spaceId}\npolicy\n${policyId}`, async () => {
        const policy = await deps.policies.get(db, spaceId, policyId)
        return policy ? { kind: 'policy', value: policy } : null
      })
      return entry?.kind === 'policy' ? entry.value : null
    },

    async model(spaceId: string, name: string): Promise<Model | null> {
      const entry = await cache.get(vaultTopic(spaceId), `${spaceId}\nmodel\n${name}`, async () => {
        const model = await deps.models.get(db, spaceId, name)
        return model ? { kind: 'model', value: model } : null
      })
      return entry?.kind === 'model' ? entry.value : null
    },
  }
}

export type VaultControlCache = ReturnType<typeof createVaultControlCache>
