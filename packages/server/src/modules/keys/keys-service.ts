import { randomBytes } from 'node:crypto'
import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db, Queryable } from '../../db/db.js'
import { runInTransaction } from '../../db/db.js'
import { AppError, conflict } from '../../http/errors.js'
import type { AuditService } from '../audit/audit-service.js'
import type { KeyScope, KeysStore } from './keys-store.js'
import { keysTopic, type IndexKeys, type Kms, type SecretHolder, type VersionedKey, type WrappedKeyRow } from './keys-types.js'

/** A sealed secret: `ghenc:v1:<master key id>:<base64 of the wrapped bytes>`. Anything else is a plain secret from before sealing. */
export const SEALED_SECRET_PREFIX = 'ghenc:'
const SEALED_SECRET = /^ghenc:v1:([A-Za-z0-9_-]{1,100}):([A-Za-z0-9+/]+=*)$/

export const isSealedSecret = (stored: string): boolean => stored.startsWith(SEALED_SECRET_PREFIX)

/** How many wrapped keys one rewrap transaction takes: small, so no lock is held for long. */
const REWRAP_BATCH = 200

export interface KeyServiceDeps {
  db: Db
  /** The master key new wrapping uses. */
  kms: Kms
  clock: () => Date
  /** During a master key rotation: the key being rotated away from, still able to unwrap. */
  previous?: Kms | null
  store: KeysStore
  /** Records `keys/master_rotated` in every space's log (optional: tools may run without it). */
  audit?: Pick<AuditService, 'append'>
  spaceIds?: (q: Queryable) => Promise<string[]>
  /**
   * Every write that changes a space's keys moves its keys topic, so the nodes' field-key caches
   * drop them (optional: tools and tests that cache nothing may run without it).
   */
  changes?: Pick<ChangeFeed, 'touch' | 'announce' | 'announceOnCommit'>
}

/** The wrap context of a versioned key: which key it is, so a wrapped key cannot stand in for another. */
export function keyContext(scope: KeyScope, version: number): string {
  return JSON.stringify(scope.kind === 'data' ? ['dek', scope.spaceId, version] : ['idx', scope.spaceId, scope.model, scope.field, version])
}

const secretContext = (context: string) => JSON.stringify(['secret', context])

/**
 * The key hierarchy's one service: data keys, index keys and sealed secrets, all under the master
 * key. Unwrapped keys are cached in this process by what was unwrapped (context and wrapped bytes):
 * a version's key never changes, so the cache cannot go stale; which version is current is read
 * from the database on every call, so a rotation made by another node is seen at once. (The data
 * path asks the field-key cache instead, which these writes invalidate through the keys topic.)
 */
export function createKeyService(deps: KeyServiceDeps) {
  const { db, clock, store } = deps
  let active = deps.kms
  const keyring = new Map<string, Kms>([[active.keyId, active]])
  if (deps.previous && deps.previous.keyId !== active.keyId) keyring.set(deps.previous.keyId, deps.previous)
  const unwrapped = new Map<string, Buffer>()
  const secretHolders: SecretHolder[] = []

  function kmsFor(kekId: string, what: string): Kms {
    const kms = keyring.get(kekId)
    if (!kms) throw new AppError('unavailable', `${what} is wrapped under master key ${kekId}, which this node does not hold (it holds ${active.keyId}); start it with that master key`)
    return kms
  }

  async function unwrapRow(scope: KeyScope, row: WrappedKeyRow): Promise<VersionedKey> {
    if (!row.wrapped) throw new AppError('integrity_failed', `key version ${row.version} was retired: what it encrypted can no longer be read`)
    const context = keyContext(scope, row.version)
    const cacheKey = `${context}|${row.wrapped.toString('base64')}`
    let key = unwrapped.get(cacheKey)
    if (!key) {
      key = await kmsFor(row.kekId, scope.kind === 'data' ? `the data key of space '${scope.spaceId}'` : `the index key of ${scope.model}.${scope.field}`).unwrap(row.wrapped, context)
      unwrapped.set(cacheKey, key)
    }
    return { version: row.version, key }
  }

  /** Makes and stores a new version; false when another node stored that version first. */
  async function addVersion(q: Queryable, scope: KeyScope, version: number): Promise<boolean> {
    const key = randomBytes(32)
    const wrapped = await active.wrap(key, keyContext(scope, version))
    return store.insertKey(q, scope, version, active.keyId, wrapped)
  }

  /** The live keys of a scope, newest first, making version 1 on first use. */
  async function liveKeys(q: Queryable, scope: KeyScope): Promise<WrappedKeyRow[]> {
    const rows = await store.liveKeys(q, scope)
    if (rows.length > 0) return rows
    const all = await store.allKeys(q, scope)
    if (all.length > 0) {
      // Another call's first use made version 1 between the two reads (concurrent first writes to a new space).
      const live = all.filter((row) => row.retiredAt === null)
      if (live.length > 0) return live
      throw new AppError('integrity_failed', 'every key version of this scope is retired')
    }
    await addVersion(q, scope, 1)
    return store.liveKeys(q, scope)
  }

  /**
   * Runs a write that changes a scope's keys with its keys topic moved: in our own transaction,
   * touched inside and announced after the commit; in the caller's `q` (whose commit we do not see:
   * a request's transaction, a job's batch), touched with a NOTIFY that the commit itself delivers.
   */
  async function changingKeys<T>(scope: KeyScope, q: Queryable | undefined, work: (tx: Queryable) => Promise<T>): Promise<T> {
    const topic = keysTopic(scope.spaceId)
    if (q) {
      const result = await work(q)
      await deps.changes?.announceOnCommit(q, topic)
      return result
    }
    const result = await db.transaction(async (tx) => {
      const done = await work(tx)
      await deps.changes?.touch(tx, topic)
      return done
    })
    deps.changes?.announce(topic)
    return result
  }

  async function rotate(scope: KeyScope, q?: Queryable): Promise<number> {
    return changingKeys(scope, q, async (tx) => {
      const all = await store.allKeys(tx, scope)
      const next = (all[0]?.version ?? 0) + 1
      if (!(await addVersion(tx, scope, next))) throw conflict('another rotation of this key is in progress; try again')
      return next
    })
  }

  async function retire(scope: KeyScope, version: number, q?: Queryable): Promise<void> {
    return changingKeys(scope, q, async (tx) => {
      const live = await store.liveKeys(tx, scope)
      if (live[0]?.version === version) throw conflict(`key version ${version} is the current one; rotate before retiring it`)
      await store.retireKey(tx, scope, version, clock())
    })
  }

  function sealWith(kms: Kms, plain: string, context: string): Promise<string> {
    return kms.wrap(Buffer.from(plain, 'utf8'), secretContext(context)).then((wrapped) => `ghenc:v1:${kms.keyId}:${wrapped.toString('base64')}`)
  }

  async function openSecret(stored: string, context: string): Promise<string> {
    if (!isSealedSecret(stored)) return stored
    const match = SEALED_SECRET.exec(stored)
    if (!match) throw new AppError('integrity_failed', 'a sealed secret is malformed; nothing was decrypted')
    const kms = kmsFor(match[1]!, 'a stored secret')
    return (await kms.unwrap(Buffer.from(match[2]!, 'base64'), secretContext(context))).toString('utf8')
  }

  /** Rewrites every registered secret that is plain or not under `target`; one transaction per holder. */
  async function resealSecrets(target: Kms, on?: Queryable): Promise<number> {
    let count = 0
    for (const holder of secretHolders) {
      const work = (tx: Queryable) =>
        holder.resealAll(tx, async (stored, context) => {
          if (isSealedSecret(stored) && SEALED_SECRET.exec(stored)?.[1] === target.keyId) return stored
          return sealWith(target, await openSecret(stored, context), context)
        })
      count += on ? await runInTransaction(on, work) : await db.transaction(work)
    }
    return count
  }

  return {
    /** The master key new wrapping uses. */
    get masterKeyId(): string {
      return active.keyId
    },

    /** The space's current data key, made (version 1) on first use. */
    async dataKey(q: Queryable, spaceId: string): Promise<VersionedKey> {
      const scope: KeyScope = { kind: 'data', spaceId }
      return unwrapRow(scope, (await liveKeys(q, scope))[0]!)
    },

    /** Every live data key version of the space, for decryption: a lookup by version (undefined: unknown or retired). */
    async dataKeyVersions(q: Queryable, spaceId: string): Promise<(version: number) => Buffer | undefined> {
      const scope: KeyScope = { kind: 'data', spaceId }
      const keys = await Promise.all((await liveKeys(q, scope)).map((row) => unwrapRow(scope, row)))
      const byVersion = new Map(keys.map((key) => [key.version, key.key]))
      return (version) => byVersion.get(version)
    },

    /** A field's current blind-index key, and the previous one while it is not retired (re-indexing). */
    async indexKey(q: Queryable, spaceId: string, model: string, field: string): Promise<IndexKeys> {
      const scope: KeyScope = { kind: 'index', spaceId, model, field }
      const [current, previous] = await liveKeys(q, scope)
      return { current: await unwrapRow(scope, current!), previous: previous ? await unwrapRow(scope, previous) : null }
    },

    /** Adds the next data key version (the old ones stay readable until retired). Runs in `q` when given. */
    rotateDataKey: (spaceId: string, q?: Queryable): Promise<number> => rotate({ kind: 'data', spaceId }, q),
    rotateIndexKey: (spaceId: string, model: string, field: string, q?: Queryable): Promise<number> => rotate({ kind: 'index', spaceId, model, field }, q),
    /** Retires an old version and erases it (after a re-encryption job moved every value off it). Never the current one. */
    retireDataKey: (spaceId: string, version: number, q?: Queryable): Promise<void> => retire({ kind: 'data', spaceId }, version, q),
    retireIndexKey: (spaceId: string, model: string, field: string, version: number, q?: Queryable): Promise<void> => retire({ kind: 'index', spaceId, model, field }, version, q),

    /** Seals a secret under the master key: `ghenc:v1:<key id>:<base64>`. `context` names its place (e.g. `webhook:<id>`). */
    sealSecret: (plain: string, context: string): Promise<string> => sealWith(active, plain, context),
    /** Opens a sealed secret; a plain value (stored before sealing existed) is returned as it is. */
    openSecret,

    registerSecretHolder(holder: SecretHolder): void {
      secretHolders.push(holder)
    },

    /** Seals every plain secret the registered holders still have (idempotent; run at start). */
    sealPlainSecrets: (on?: Queryable): Promise<number> => resealSecrets(active, on),

    /**
     * Master key rotation: rewraps every live data and index key (batches of REWRAP_BATCH, one
     * transaction each) and every sealed secret under `newKms`, then records it as the store's
     * master key, retiring the old one, with a `keys/master_rotated` event in every space. A batch
     * interrupted midway leaves rows under either key; running it again finishes it. With `on`
     * (the start's connection, under the migration lock) the batches run on that connection.
     */
    async rewrapAll(newKms: Kms, on?: Queryable): Promise<{ keys: number; secrets: number }> {
      keyring.set(newKms.keyId, newKms)
      const inTx = <T>(work: (tx: Queryable) => Promise<T>) => (on ? runInTransaction(on, work) : db.transaction(work))
      let keys = 0
      for (;;) {
        const done = await inTx(async (tx) => {
          const batch = await store.keysNotUnder(tx, newKms.keyId, REWRAP_BATCH)
          for (const row of batch) {
            const { key } = await unwrapRow(row.scope, row)
            await store.rewrapKey(tx, row.scope, row.version, newKms.keyId, await newKms.wrap(key, keyContext(row.scope, row.version)))
          }
          return batch.length
        })
        keys += done
        if (done < REWRAP_BATCH) break
      }
      const secrets = await resealSecrets(newKms, on)
      const rewrapped = await inTx(async (tx) => {
        if ((await store.countNotUnder(tx, newKms.keyId)) > 0) throw conflict('keys were added under the old master key during the rotation; run it again')
        const from = await store.currentMasterKeyId(tx)
        if (from !== newKms.keyId) {
          await store.retireCurrentMasterKey(tx, clock())
          if (!(await store.addCurrentMasterKey(tx, newKms.keyId))) throw conflict(`master key ${newKms.keyId} was retired by an earlier rotation; a retired key is never used again`)
        }
        const spaceIds = (await deps.spaceIds?.(tx)) ?? []
        for (const spaceId of spaceIds) {
          await deps.audit?.append(tx, spaceId, { event: 'keys/master_rotated', actor: { kind: 'system', id: 'gatehouse' }, meta: { from, to: newKms.keyId, keys, secrets } })
        }
        // The keys' values are unchanged, but every node drops what it unwrapped under the old master key.
        await deps.changes?.touch(tx, ...spaceIds.map(keysTopic))
        return spaceIds
      })
      deps.changes?.announce(...rewrapped.map(keysTopic))
      active = newKms
      for (const id of [...keyring.keys()]) if (id !== newKms.keyId) keyring.delete(id)
      unwrapped.clear()
      return { keys, secrets }
    },
  }
}

export type KeyService = ReturnType<typeof createKeyService>
