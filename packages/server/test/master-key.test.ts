import { randomBytes } from 'node:crypto'
import { existsSync, lstatSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readConfig } from '../src/config.js'
import { openPgliteDb } from '../src/db/pglite.js'
import { openPostgresDb } from '../src/db/postgres.js'
import { createLogger } from '../src/logger.js'
import { decideMasterKey, MasterKeyMismatchError } from '../src/modules/keys/master-key.js'
import { masterKeyId } from '../src/modules/keys/local-kms.js'
import { createKeyService, createKeysStore, createLocalKms, keyContext } from '../src/modules/keys/index.js'
import { startServer } from '../src/server.js'
import { STORE } from './harness.js'
import { processHarness } from './process-harness.js'

const { onCleanup, storeEnv } = processHarness('gatehouse-master-key-')

const start = async (env: Record<string, string>) => {
  const server = await startServer(readConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' }), createLogger('silent'))
  onCleanup(() => server.close())
  return server
}

/** Reads the store directly, with the server stopped. */
async function inspect<T>(env: Record<string, string>, read: (query: (sql: string) => Promise<unknown[]>) => Promise<T>): Promise<T> {
  const db = env.DATABASE_URL ? openPostgresDb({ connectionString: env.DATABASE_URL, maxConnections: 1 }) : await openPgliteDb(join(env.GATEHOUSE_DATA_DIR!, 'pgdata'))
  try {
    return await read(async (sql) => (await db.query(sql)).rows)
  } finally {
    await db.close()
  }
}

describe(`the master key at start on ${STORE}`, () => {
  it('is made on first start beside the data (0600), recorded by id, and used again by the next start', async () => {
    const env = await storeEnv()
    const first = await start(env)
    await first.close()
    const file = join(env.GATEHOUSE_DATA_DIR!, 'master.key')
    expect(lstatSync(file).mode & 0o777).toBe(0o600)
    const id = masterKeyId(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'))
    expect(await inspect(env, (query) => query('SELECT key_id, retired_at FROM master_keys'))).toEqual([{ key_id: id, retired_at: null }])
    const second = await start(env)
    await second.close()
  }, 120_000)

  it('a start with another key, or with no key file, is refused naming the expected key id, and changes nothing', async () => {
    const env = await storeEnv()
    await (await start(env)).close()
    const file = join(env.GATEHOUSE_DATA_DIR!, 'master.key')
    const expected = masterKeyId(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'))
    // A pending migration (0009 undone) shows whether the refused start migrated anything.
    await inspect(env, async (query) => {
      await query('DROP TABLE vault_console_clients')
      await query('DELETE FROM schema_migrations WHERE version = 9')
    })
    const before = await inspect(env, (query) => query('SELECT key_id FROM master_keys'))

    const other = randomBytes(32)
    const wrongKey = start({ ...env, GATEHOUSE_MASTER_KEY: other.toString('base64') })
    await expect(wrongKey).rejects.toThrow(MasterKeyMismatchError)
    await expect(wrongKey).rejects.toThrow(`this store's keys and secrets are wrapped under master key ${expected}, but GATEHOUSE_MASTER_KEY holds master key ${masterKeyId(other)}`)

    renameSync(file, `${file}.moved`)
    const noFile = start(env)
    await expect(noFile).rejects.toThrow(`wrapped under master key ${expected}, but there is no master key file at ${file}`)
    expect(existsSync(file)).toBe(false)

    expect(await inspect(env, (query) => query('SELECT key_id FROM master_keys'))).toEqual(before)
    expect(await inspect(env, (query) => query(`SELECT to_regclass('public.vault_console_clients')::text AS t`))).toEqual([{ t: null }])
    expect(await inspect(env, (query) => query('SELECT version FROM schema_migrations WHERE version = 9'))).toEqual([])

    // With the right key back, the same store starts and the pending migration runs.
    renameSync(`${file}.moved`, file)
    await (await start(env)).close()
    expect(await inspect(env, (query) => query(`SELECT to_regclass('public.vault_console_clients')::text AS t`))).toEqual([{ t: 'vault_console_clients' }])
  }, 180_000)
})

describe('decideMasterKey', () => {
  const base = { configured: 'mk_b', previous: null, configuredRetired: false, found: 'the file holds mk_b' }
  it('registers on a store without one, accepts its own, rotates from the named previous one, refuses the rest', () => {
    expect(decideMasterKey({ ...base, stored: null })).toBe('register')
    expect(decideMasterKey({ ...base, stored: 'mk_b' })).toBe('current')
    expect(decideMasterKey({ ...base, stored: 'mk_a', previous: 'mk_a' })).toBe('rotate')
    expect(() => decideMasterKey({ ...base, stored: 'mk_a' })).toThrow('wrapped under master key mk_a, but the file holds mk_b')
    expect(() => decideMasterKey({ ...base, stored: 'mk_a', previous: 'mk_c' })).toThrow('master key mk_a')
    expect(() => decideMasterKey({ ...base, stored: 'mk_c', configuredRetired: true })).toThrow('retired')
  })
})

describe(`master key rotation at start on ${STORE}`, () => {
  it('rewraps every data key, index key and sealed secret under the new key, audited; afterwards the old key opens nothing and is refused', async () => {
    const env = await storeEnv()
    const first = await start(env)
    const admin = first.bootstrap!.adminToken.token
    const keys = first.built.services.keys
    const dek = await keys.dataKey(first.db, 'default')
    const idx = await keys.indexKey(first.db, 'default', 'patients', 'first_name')
    await keys.rotateDataKey('default')
    const dekV2 = await keys.dataKey(first.db, 'default')
    const endpoint = await first.built.app.inject({ method: 'POST', url: '/v1/spaces/default/webhooks', headers: { authorization: `Bearer ${admin}` }, payload: { url: 'https://hooks.example.com/in' } })
    expect(endpoint.statusCode, endpoint.body).toBe(201)
    const webhookSecret = endpoint.json().secret as string
    await first.close()
    const oldKey = Buffer.from(readFileSync(join(env.GATEHOUSE_DATA_DIR!, 'master.key'), 'utf8').trim(), 'base64')
    const newKey = randomBytes(32)

    const rotating = await start({ ...env, GATEHOUSE_MASTER_KEY: newKey.toString('base64'), GATEHOUSE_MASTER_KEY_PREVIOUS: oldKey.toString('base64') })
    // Listed once the background sequencer has integrated it.
    let events = await rotating.built.app.inject({ method: 'GET', url: '/v1/spaces/default/audit?event=keys/master_rotated', headers: { authorization: `Bearer ${admin}` } })
    for (let i = 0; i < 100 && events.json().events.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      events = await rotating.built.app.inject({ method: 'GET', url: '/v1/spaces/default/audit?event=keys/master_rotated', headers: { authorization: `Bearer ${admin}` } })
    }
    expect(events.json().events).toEqual([expect.objectContaining({ event: 'keys/master_rotated', meta: { from: masterKeyId(oldKey), to: masterKeyId(newKey), keys: 3, secrets: 1 } })])
    await rotating.close()

    const { wrapped, secrets, masters, keysTopic } = await inspect(env, async (query) => ({
      wrapped: (await query('SELECT kek_id, wrapped FROM space_data_keys UNION ALL SELECT kek_id, wrapped FROM vault_index_keys')) as Array<{ kek_id: string; wrapped: Uint8Array }>,
      secrets: (await query('SELECT secret FROM webhook_endpoints')) as Array<{ secret: string }>,
      masters: await query('SELECT key_id, retired_at IS NOT NULL AS retired FROM master_keys ORDER BY retired_at IS NULL'),
      keysTopic: await query("SELECT version FROM change_versions WHERE topic = 'keys:default'"),
    }))
    // The data key rotation moved the space's keys topic once, the rewrap once more: every node's field-key cache dropped.
    expect(keysTopic).toEqual([{ version: 2 }])
    expect(masters).toEqual([{ key_id: masterKeyId(oldKey), retired: true }, { key_id: masterKeyId(newKey), retired: false }])
    expect(wrapped).toHaveLength(3)
    const oldKms = createLocalKms(oldKey)
    for (const row of wrapped) {
      expect(row.kek_id).toBe(masterKeyId(newKey))
      for (const context of [keyContext({ kind: 'data', spaceId: 'default' }, 1), keyContext({ kind: 'data', spaceId: 'default' }, 2), keyContext({ kind: 'index', spaceId: 'default', model: 'patients', field: 'first_name' }, 1)]) {
        await expect(oldKms.unwrap(Buffer.from(row.wrapped), context)).rejects.toMatchObject({ code: 'integrity_failed' })
      }
    }
    expect(secrets[0]!.secret).toMatch(new RegExp(`^ghenc:v1:${masterKeyId(newKey)}:`))
    const oldOnly = createKeyService({ db: { query: async () => ({ rows: [], rowCount: 0 }) } as never, kms: oldKms, clock: () => new Date(), store: createKeysStore() })
    await expect(oldOnly.openSecret(secrets[0]!.secret, 'anything')).rejects.toMatchObject({ code: 'unavailable' })

    // The old key alone is refused (retired); the new key alone reads the same data keys and secret.
    await expect(start({ ...env, GATEHOUSE_MASTER_KEY: oldKey.toString('base64') })).rejects.toThrow('a retired master key is never used again')
    const after = await start({ ...env, GATEHOUSE_MASTER_KEY: newKey.toString('base64') })
    const versions = await after.built.services.keys.dataKeyVersions(after.db, 'default')
    expect(versions(1)?.equals(dek.key)).toBe(true)
    expect(versions(2)?.equals(dekV2.key)).toBe(true)
    expect((await after.built.services.keys.indexKey(after.db, 'default', 'patients', 'first_name')).current.key.equals(idx.current.key)).toBe(true)
    const stored = await after.db.query<{ space_id: string; id: string; secret: string }>('SELECT space_id, id, secret FROM webhook_endpoints')
    expect(await after.built.services.keys.openSecret(stored.rows[0]!.secret, `webhook_endpoints:${stored.rows[0]!.space_id}:${stored.rows[0]!.id}`)).toBe(webhookSecret)
    await after.close()
  }, 240_000)

  it('the file way: the old key file moved aside and named as previous, a start makes the new key file and rotates to it', async () => {
    const env = await storeEnv()
    const first = await start(env)
    await first.built.services.keys.dataKey(first.db, 'default')
    await first.close()
    const file = join(env.GATEHOUSE_DATA_DIR!, 'master.key')
    const oldId = masterKeyId(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'))
    renameSync(file, `${file}.old`)
    await (await start({ ...env, GATEHOUSE_MASTER_KEY_PREVIOUS_FILE: `${file}.old` })).close()
    const newId = masterKeyId(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'))
    expect(newId).not.toBe(oldId)
    expect(lstatSync(file).mode & 0o777).toBe(0o600)
    expect(await inspect(env, (query) => query('SELECT DISTINCT kek_id FROM space_data_keys'))).toEqual([{ kek_id: newId }])
    // The setting may stay for a while: the next start finds the rotation done.
    await (await start({ ...env, GATEHOUSE_MASTER_KEY_PREVIOUS_FILE: `${file}.old` })).close()
  }, 180_000)
})
