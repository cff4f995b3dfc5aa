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
