import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Queryable } from '../../db/db.js'
import type { KeyService } from './keys-service.js'
import type { KeysStore } from './keys-store.js'
import type { Kms } from './keys-types.js'
import { createLocalKms } from './local-kms.js'

/** Where this node's master key comes from (config.ts reads the variables; files are read here). */
export type MasterKeySource = { kind: 'env'; key: Buffer } | { kind: 'file'; path: string }

export interface LoadedMasterKey {
  kms: Kms
  /** Where it came from, for messages: `GATEHOUSE_MASTER_KEY`, or the file's path. */
  where: string
  /** True when there was no key file and a new key was made: written by `save()` only once the start accepts it. */
  created: boolean
  save(): void
}

/** The database and this node's master key disagree: the server must not start (and has changed nothing). */
export class MasterKeyMismatchError extends Error {}

/** A master key: 32 bytes, given as base64 (a file holds that one line). */
export function parseMasterKey(text: string, where: string): Buffer {
  const trimmed = text.trim()
  const key = /^[A-Za-z0-9+/_-]+=*$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0)
  if (key.length !== 32) throw new MasterKeyMismatchError(`${where} must hold a master key: 32 bytes in base64 (e.g. from \`openssl rand -base64 32\`), got ${key.length === 0 ? 'something else' : `${key.length} bytes`}`)
  return key
}

export function loadMasterKey(source: MasterKeySource): LoadedMasterKey {
  if (source.kind === 'env') return { kms: createLocalKms(source.key), where: 'GATEHOUSE_MASTER_KEY', created: false, save: () => undefined }
  const { path } = source
  if (existsSync(path)) return { kms: createLocalKms(parseMasterKey(readFileSync(path, 'utf8'), path)), where: path, created: false, save: () => undefined }
  const key = randomBytes(32)
  return {
    kms: createLocalKms(key),
    where: path,
    created: true,
    save() {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
      try {
        writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new MasterKeyMismatchError(`the master key file ${path} was created by another process while this one started; start again to use it`)
        throw error
      }
    },
  }
}

export type MasterKeyDecision = 'current' | 'register' | 'rotate'

/**
 * What a start does with its master key, from the store's current key id (null: none recorded yet),
 * this node's, the previous key's (GATEHOUSE_MASTER_KEY_PREVIOUS*) and whether this node's was
 * retired by an earlier rotation. Throws, naming the expected key id, when the node must not start.
 */
export function decideMasterKey(input: { stored: string | null; configured: string; previous: string | null; configuredRetired: boolean; found: string }): MasterKeyDecision {
  const { stored, configured, previous, found } = input
  if (input.configuredRetired) throw new MasterKeyMismatchError(`${found}, which a master key rotation retired: a retired master key is never used again. This store's master key is ${stored ?? '(none)'}`)
  if (stored === null) return 'register'
  if (stored === configured) return 'current'
  if (previous !== null && previous === stored) return 'rotate'
  throw new MasterKeyMismatchError(
    `this store's keys and secrets are wrapped under master key ${stored}, but ${found}. ` +
      `Start with the store's master key (GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE), ` +
      `or, to rotate to this node's key, also give the current one as GATEHOUSE_MASTER_KEY_PREVIOUS or GATEHOUSE_MASTER_KEY_PREVIOUS_FILE (docs/vault-encryption.md)`,
  )
}

const describe = (loaded: LoadedMasterKey) =>
  loaded.created ? `there is no master key file at ${loaded.where} (this node would have made a new key, ${loaded.kms.keyId})` : `${loaded.where} holds master key ${loaded.kms.keyId}`

/**
 * Checks the node's master key against the store before anything is migrated or written: a node
 * with the wrong key fails here and changes nothing. Repeated by `adoptMasterKey` under the lock.
 */
export async function checkMasterKey(q: Queryable, store: KeysStore, loaded: LoadedMasterKey, previous: Kms | null): Promise<MasterKeyDecision> {
  if (!(await store.hasKeyTables(q))) return 'register'
  return decideMasterKey({
    stored: await store.currentMasterKeyId(q),
    configured: loaded.kms.keyId,
    previous: previous?.keyId ?? null,
    configuredRetired: await store.isRetiredMasterKey(q, loaded.kms.keyId),
    found: describe(loaded),
  })
}

/**
 * The first step of a start, before anything is migrated, under the migration lock: reads this
 * node's master key (or makes one when there is no key file), checks it against the store and, if
 * it was made, writes its file (0600) before anything is wrapped under it. Nodes starting at once
 * with one key file take turns, so the second reads the key the first wrote. A node with the wrong
 * key is refused here, naming the key the store expects, and has written nothing.
 */
export async function prepareMasterKey(q: Queryable, store: KeysStore, source: MasterKeySource, previous: Kms | null): Promise<LoadedMasterKey> {
  const loaded = loadMasterKey(source)
  await checkMasterKey(q, store, loaded, previous)
  if (loaded.created) loaded.save()
  return { ...loaded, created: false, save: () => undefined }
}

/**
 * Runs at start after the migrations, under the migration lock: registers the first master key,
 * or, when the store's key is this node's previous one, rewraps everything under this node's key.
 * Then seals the plain secrets an older version left. Returns what it did.
 */
export async function adoptMasterKey(conn: Queryable, service: KeyService, store: KeysStore, loaded: LoadedMasterKey, previous: Kms | null): Promise<{ decision: MasterKeyDecision; sealed: number }> {
  const decision = await checkMasterKey(conn, store, loaded, previous)
  if (loaded.created) throw new Error('adoptMasterKey: the master key file must be written first (prepareMasterKey)')
  if (decision === 'register' && !(await store.addCurrentMasterKey(conn, loaded.kms.keyId))) {
    throw new MasterKeyMismatchError('another node registered a different master key while this one started; start again')
  }
  if (decision === 'rotate') await service.rewrapAll(loaded.kms, conn)
  const sealed = await service.sealPlainSecrets(conn)
  return { decision, sealed }
}

/** The key being rotated away from: it must exist (a missing file is an error, never a new key). */
export function loadPreviousMasterKey(source: MasterKeySource | null): Kms | null {
  if (!source) return null
  if (source.kind === 'env') return createLocalKms(source.key)
  if (!existsSync(source.path)) throw new MasterKeyMismatchError(`GATEHOUSE_MASTER_KEY_PREVIOUS_FILE names ${source.path}, which does not exist`)
  return createLocalKms(parseMasterKey(readFileSync(source.path, 'utf8'), source.path))
}
