import { generateKeyPairSync, randomBytes } from 'node:crypto'
import pg from 'pg'
import { buildApp, type AppDeps, type BuiltApp } from '../src/app.js'
import type { OidcFromConfig } from '../src/config.js'
import type { Db } from '../src/db/db.js'
import { migrate } from '../src/db/migrate.js'
import { openPgliteDb } from '../src/db/pglite.js'
import { openPostgresDb } from '../src/db/postgres.js'
import { createCheckpointSigner, type CheckpointSigner } from '../src/modules/audit/audit-signer.js'
import type { Role } from '../src/modules/auth/auth-types.js'
import type { VaultOptions } from '../src/modules/vault/index.js'
import { createKeysStore, createLocalKms, type Kms } from '../src/modules/keys/index.js'
import { adoptMasterKey } from '../src/modules/keys/master-key.js'

/** Tests run on PGlite, or on PostgreSQL when DATABASE_URL is set (`.ci/run` does both). */
export const STORE = process.env.DATABASE_URL ? 'postgres' : 'pglite'

export interface TestDb {
  db: Db
  /** Only for PostgreSQL: the URL of this test's own database. */
  url: string | null
  drop(): Promise<void>
}

/** A fresh, empty store: in-memory PGlite, or a new database on the PostgreSQL server. */
export async function openTestDb(): Promise<TestDb> {
  const base = process.env.DATABASE_URL
  if (!base) {
    const db = await openPgliteDb(undefined)
    return { db, url: null, drop: () => db.close() }
  }
  const name = `gatehouse_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: base })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(base)
  url.pathname = `/${name}`
  const db = openPostgresDb({ connectionString: url.toString(), maxConnections: 10 })
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close().catch(() => undefined) // a test may have closed it already
      const cleanup = new pg.Client({ connectionString: base })
      await cleanup.connect()
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await cleanup.end()
    },
  }
}

/** A random master key: every test store has its own. */
export const testKms = (): Kms => createLocalKms(randomBytes(32))

export const testSigner = (): CheckpointSigner => createCheckpointSigner(generateKeyPairSync('ed25519').privateKey)

export interface InjectOptions {
  token?: string
  body?: unknown
  headers?: Record<string, string>
}

export interface Harness {
  built: BuiltApp
  db: Db
  testDb: TestDb
  signer: CheckpointSigner
  /** The master key of this store (a second app on it must be given the same one). */
  kms: Kms
  /** The `default` space's bootstrap admin token. */
  adminToken: string
  /** Moves the server's clock (token expiry is decided by it). */
  advanceClock(ms: number): void
  /** The server's clock, for a second app on the same store (several nodes). */
  clock: () => Date
  request(method: string, url: string, options?: InjectOptions): Promise<{ status: number; body: any; headers: Record<string, unknown>; text: string }>
  createUser(role: Role, options?: { space?: string; adminToken?: string; password?: string; email?: string }): Promise<{ id: string; email: string; token: string }>
  createSpace(id: string): Promise<string>
  close(): Promise<void>
}

export async function createHarness(options: { signInAttemptsPerMinute?: number; vault?: VaultOptions; outboundAllow?: string[]; auditLog?: AppDeps['auditLog']; ssoFromConfig?: OidcFromConfig; changeFeed?: AppDeps['changeFeed'] } = {}): Promise<Harness> {
  const testDb = await openTestDb()
  const signer = testSigner()
  const kms = testKms()
  let offsetMs = 0
  const clock = () => new Date(Date.now() + offsetMs)
  const built = await buildApp({
    db: testDb.db,
    signer,
    kms,
    clock,
    signInRateLimit: { max: options.signInAttemptsPerMinute ?? 1000, timeWindowMs: 60_000 },
    // Tests drive key rotation jobs at once; vault-rotation.test.ts keeps the production wait and checks it.
    vault: { keyJobDelayMs: 0, ...options.vault },
    ...(options.auditLog ? { auditLog: options.auditLog } : {}),
    // Tests run their endpoints on 127.0.0.1, which the outbound policy refuses by default.
    outboundAllow: options.outboundAllow ?? ['127.0.0.1/32'],
    ...(options.ssoFromConfig ? { ssoFromConfig: options.ssoFromConfig } : {}),
    ...(options.changeFeed ? { changeFeed: options.changeFeed } : {}),
  })
  const { result } = await migrate(testDb.db, async (conn) => {
    await adoptMasterKey(conn, built.services.keys, createKeysStore(), { kms, where: 'the test master key', created: false, save: () => undefined }, null)
    return built.services.spaces.bootstrapIfEmpty(conn)
  })
  if (!result) throw new Error('bootstrap did not run on an empty store')
  await built.changes.start()

  const harness: Harness = {
    built,
    db: testDb.db,
    testDb,
    signer,
    kms,
    adminToken: result.adminToken.token,
    advanceClock: (ms) => {
      offsetMs += ms
    },
    clock,
    async request(method, url, { token, body, headers = {} } = {}) {
      const response = await built.app.inject({
        method: method as 'GET',
        url,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        ...(body !== undefined ? { payload: body as object } : {}),
      })
      let parsed: unknown = undefined
      try {
        parsed = response.body ? JSON.parse(response.body) : undefined
      } catch {
        parsed = undefined
      }
      return { status: response.statusCode, body: parsed, headers: response.headers, text: response.body }
    },
    async createUser(role, { space = 'default', adminToken = harness.adminToken, password, email } = {}) {
      const address = email ?? `${role}-${randomBytes(4).toString('hex')}@example.com`
      const created = await harness.request('POST', `/v1/spaces/${space}/users`, {
        token: adminToken,
        body: { email: address, name: `A ${role}`, role, ...(password ? { password } : {}) },
      })
      if (created.status !== 201) throw new Error(`createUser: ${created.status} ${created.text}`)
      const issued = await harness.request('POST', `/v1/spaces/${space}/users/${created.body.id}/tokens`, { token: adminToken, body: {} })
      if (issued.status !== 201) throw new Error(`issue token: ${issued.status} ${issued.text}`)
      return { id: created.body.id, email: address, token: issued.body.token }
    },
    async createSpace(id) {
      const created = await harness.request('POST', '/v1/spaces', { token: harness.adminToken, body: { id } })
      if (created.status !== 201) throw new Error(`createSpace: ${created.status} ${created.text}`)
      return created.body.adminToken.token as string
    },
    async close() {
      await built.app.close()
      await testDb.drop()
    },
  }
  return harness
}
