import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import type { Db, StoreKind } from '../../packages/server/src/db/db.js'
import { migrate } from '../../packages/server/src/db/migrate.js'
import { openPgliteDb } from '../../packages/server/src/db/pglite.js'
import { openPostgresDb } from '../../packages/server/src/db/postgres.js'
import { createLocalKms } from '../../packages/server/src/modules/keys/index.js'

/** The server's default pool size (GATEHOUSE_DB_POOL_MAX): the bench measures what a default install runs with. */
export const POOL_MAX = 10

export const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * How a second process opens the same data: a PostgreSQL URL, or a PGlite data directory — and the
 * store's master key (base64), without which it could not open the secrets sealed under it.
 */
export type StoreLocation = ({ kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string | null }) & { masterKey: string }

/** The master key of a store a process opens (from its location): every process of one store uses the same. */
export const storeKms = (location: StoreLocation) => createLocalKms(Buffer.from(location.masterKey, 'base64'))

export interface StoreHandle {
  kind: StoreKind
  db: Db
  location: StoreLocation
  /** `SHOW server_version` of this store. */
  version: string
  /**
   * PGlite only: the instance behind `db`, for tools that need PGlite itself (COPY goes through the
   * Db's `copyFrom` now). Nothing may use it while the app runs: it bypasses the Db's statement queue.
   */
  pglite: PGlite | null
  /** Closes the Db, keeping the data (another process opens it next). Idempotent. */
  closeDb(): Promise<void>
  /** Closes the Db and deletes the database or data directory. Idempotent. */
  drop(): Promise<void>
}

/** Everything opened and not yet dropped, so an interrupted run can still clean up. */
const open = new Set<StoreHandle>()

export async function dropAllStores(): Promise<void> {
  await Promise.allSettled([...open].map((handle) => handle.drop()))
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/** The bench sends traffic only over loopback: a DATABASE_URL elsewhere is refused, not used. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname
  if (!LOOPBACK.has(host)) throw new Error(`the bench only talks to PostgreSQL on 127.0.0.1; DATABASE_URL points at ${host}`)
}

/** Answers whether a PostgreSQL server accepts connections at `url` within a second. */
export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** A migrated, empty PGlite cluster as a tarball, made once per run (see pgliteTemplate). */
let template: Promise<Blob> | null = null

/**
 * Every scenario gets a fresh store, but initdb inside WebAssembly takes 2–4 s: a run copies one
 * migrated, empty cluster instead (about 0.5 s). The copy is what the server would have made itself —
 * the same migrations on the same PGlite — and bootstrap still runs on each copy.
 */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    let opened: PGlite | undefined
    const db = await openPgliteDb(undefined, { onOpen: (instance) => (opened = instance) })
    try {
      await migrate(db, async () => null)
      if (!opened) throw new Error('openPgliteDb did not hand over its PGlite instance')
      return await opened.dumpDataDir('none')
    } finally {
      await db.close()
    }
  })()
  return template
}

/**
 * Opens PGlite through the server's own openPgliteDb (same statement queue, same parsers) and keeps
 * the PGlite instance, which only the COPY baseline of scenario 3 uses.
 */
async function openPgliteCapturing(dataDir: string | undefined): Promise<{ db: Db; pglite: PGlite }> {
  let captured: PGlite | null = null
  const db = await openPgliteDb(dataDir, { onOpen: (instance) => (captured = instance), loadDataDir: await pgliteTemplate() })
  if (!captured) throw new Error('openPgliteDb did not hand over its PGlite instance')
  return { db, pglite: captured }
}

async function serverVersion(db: Db): Promise<string> {
  const { rows } = await db.query<{ server_version: string }>('SHOW server_version')
  return rows[0]?.server_version ?? 'unknown'
}

/**
 * A fresh, empty store: in-memory PGlite (or one in a temporary directory, when another process
 * must open it later), or a new database on the PostgreSQL server at `adminUrl`.
 */
export async function openFreshStore(kind: StoreKind, options: { adminUrl: string | null; onDisk?: boolean }): Promise<StoreHandle> {
  if (kind === 'pglite') {
    const dir = options.onDisk ? mkdtempSync(join(tmpdir(), 'gatehouse-bench-')) : null
    const dataDir = dir ? join(dir, 'pgdata') : null
    const { db, pglite } = await openPgliteCapturing(dataDir ?? undefined)
    let closed: Promise<void> | null = null
    let dropped: Promise<void> | null = null
    const handle: StoreHandle = {
      kind,
      db,
      location: { kind: 'pglite', dataDir, masterKey: randomBytes(32).toString('base64') },
      version: await serverVersion(db),
      pglite,
      closeDb: () => (closed ??= db.close()),
      drop: () =>
        (dropped ??= (async () => {
          await handle.closeDb().catch(() => undefined)
          if (dir) rmSync(dir, { recursive: true, force: true })
          open.delete(handle)
        })()),
    }
    open.add(handle)
    return handle
  }

  if (!options.adminUrl) throw new Error('no PostgreSQL: set DATABASE_URL or start one at 127.0.0.1:5432')
  const adminUrl = options.adminUrl
  assertLoopback(adminUrl)
  const name = `gatehouse_bench_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  const db = openPostgresDb({ connectionString: url.toString(), maxConnections: POOL_MAX })
  let closed: Promise<void> | null = null
  let dropped: Promise<void> | null = null
  const handle: StoreHandle = {
    kind,
    db,
    location: { kind: 'postgres', url: url.toString(), masterKey: randomBytes(32).toString('base64') },
    version: 'unknown',
    pglite: null,
    closeDb: () => (closed ??= db.close()),
    drop: () =>
      (dropped ??= (async () => {
        await handle.closeDb().catch(() => undefined)
        const cleanup = new pg.Client({ connectionString: adminUrl })
        await cleanup.connect()
        try {
          await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        } finally {
          await cleanup.end()
          open.delete(handle)
        }
      })()),
  }
  open.add(handle)
  try {
    handle.version = await serverVersion(db)
  } catch (error) {
    await handle.drop()
    throw error
  }
  return handle
}

/** Opens an existing store that another process prepared (the memory child of scenario 5). */
export async function openStoreAt(location: StoreLocation): Promise<Db> {
  if (location.kind === 'postgres') {
    assertLoopback(location.url)
    return openPostgresDb({ connectionString: location.url, maxConnections: POOL_MAX })
  }
  return openPgliteDb(location.dataDir ?? undefined)
}
