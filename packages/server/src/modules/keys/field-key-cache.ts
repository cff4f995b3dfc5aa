import type { Db } from '../../db/db.js'
import { createTopicCache, type CacheFeed } from '../../lib/topic-cache.js'
import type { KeyService } from './keys-service.js'
import { keysTopic, type DataKeys, type FieldKeys, type IndexKeys } from './keys-types.js'

type Entry = { kind: 'data'; value: DataKeys } | { kind: 'index'; value: IndexKeys }

/**
 * The unwrapped field keys a vault request needs — the space's data keys, a field's index keys —
 * kept per process and dropped on every node when the space's keys topic moves (a rotation, a
 * retirement, a master key rewrap: docs/nodes.md). Without it an encrypted model cost 2 + one per
 * searchable field statements on every call. It answers only while the change feed is fresh, so a
 * retired key stops opening values on every node within the feed's bound, and a node that cannot
 * read the version table asks the database (which fails closed if it cannot answer either).
 *
 * Loads always read committed state on the plain handle, never a caller's transaction: version 1 of
 * a key is made on first use, and a key seen only inside a transaction that rolled back must never
 * be kept. Background jobs do not come here; they read the key service inside their transaction.
 * Cached keys are shared between requests: callers never mutate them.
 */
export function createFieldKeyCache(deps: { db: Db; keys: Pick<KeyService, 'dataKey' | 'dataKeyVersions' | 'indexKey'>; changes: CacheFeed; maxEntries?: number }): FieldKeys {
  const cache = createTopicCache<Entry>({ feed: deps.changes, maxEntries: deps.maxEntries ?? 10_000 })
  const { db, keys } = deps
  return {
    async dataKeys(spaceId) {
      const entry = await cache.get(keysTopic(spaceId), JSON.stringify(['data', spaceId]), async () => ({
        kind: 'data',
        value: { current: await keys.dataKey(db, spaceId), versions: await keys.dataKeyVersions(db, spaceId) },
      }))
      if (entry?.kind !== 'data') throw new Error('field-key cache: a data key entry of another kind')
      return entry.value
    },

    async indexKeys(spaceId, model, field) {
      const entry = await cache.get(keysTopic(spaceId), JSON.stringify(['index', spaceId, model, field]), async () => ({ kind: 'index', value: await keys.indexKey(db, spaceId, model, field) }))
      if (entry?.kind !== 'index') throw new Error('field-key cache: an index key entry of another kind')
      return entry.value
    },
  }
}
