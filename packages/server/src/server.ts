import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { buildApp, type BuiltApp } from './app.js'
import type { Config } from './config.js'
import type { Db } from './db/db.js'
import { migrate } from './db/migrate.js'
import { createPeriodicTask } from './lib/periodic.js'
import { openPgliteDb } from './db/pglite.js'
import { openPostgresDb } from './db/postgres.js'
import { createCheckpointSigner, loadOrCreateSigningKey } from './modules/audit/audit-signer.js'
import type { CreatedSpace } from './modules/spaces/spaces-types.js'

export interface RunningServer {
  url: string
  store: string
  /** Set only on the start that created the first space. */
  bootstrap: CreatedSpace | null
  built: BuiltApp
  db: Db
  /** Stops accepting, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>
}

/** A PGlite data directory belongs to one process: two would corrupt it. */
function lockDataDir(dataDir: string): () => void {
  const lockFile = join(dataDir, 'gatehouse.pid')
  try {
    writeFileSync(lockFile, String(process.pid), { flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const holder = Number(readFileSync(lockFile, 'utf8'))
    let alive = false
    try {
      process.kill(holder, 0)
      alive = holder !== process.pid
    } catch {
      alive = false
    }
    if (alive) {
      throw new Error(`another Gatehouse process (pid ${holder}) is using ${dataDir}; stop it, or set GATEHOUSE_DATA_DIR, or use DATABASE_URL`)
    }
    writeFileSync(lockFile, String(process.pid))
  }
  return () => rmSync(lockFile, { force: true })
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true })
  let unlock = () => {}
  let db: Db
  let store: string
  if (config.databaseUrl) {
    db = openPostgresDb({ connectionString: config.databaseUrl, maxConnections: config.dbPoolMax })
    store = `PostgreSQL at ${new URL(config.databaseUrl).host}${new URL(config.databaseUrl).pathname}`
  } else {
    unlock = lockDataDir(config.dataDir)
    const pgdata = join(config.dataDir, 'pgdata')
    db = await openPgliteDb(pgdata)
    store = `PGlite at ${pgdata}`
  }

  let built: BuiltApp | undefined
  try {
    const { key } = loadOrCreateSigningKey(config.auditKeyFile)
    const app = await buildApp({
      db,
      signer: createCheckpointSigner(key),
      logger,
      userTokenTtlSeconds: config.userTokenTtlSeconds,
      signInRateLimit: { max: config.signInAttemptsPerMinute, timeWindowMs: 60_000 },
      bodyLimitBytes: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
      outboundAllow: config.outboundAllow,
      startGated: true,
    })
    built = app
    // Bind first: a port already taken must fail before the first start writes (and would lose)
    // its one-time admin token.
    await app.app.listen({ host: config.host, port: config.port })
    const { applied, result: bootstrap } = await migrate(db, (conn) => app.services.spaces.bootstrapIfEmpty(conn))
    if (applied.length > 0) logger.info({ applied }, 'applied migrations')
    app.lifecycle.starting = false
    // Webhook deliveries need the migrated tables; queued ones left by a previous run go out now.
    app.webhookWorker.start()
    // Expiry is enforced at read time; this only announces it (audit event, access/expire webhook).
    const expiries = createPeriodicTask('announce-expiries', () => app.services.approvals.announceExpiries(), 10_000, app.app.log)
    expiries.start()
    const address = app.app.server.address() as AddressInfo
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address

    let closing: Promise<void> | null = null
    const close = () =>
      (closing ??= (async () => {
        app.lifecycle.draining = true
        await app.app.close()
        await expiries.stop()
        await app.webhookWorker.stop()
        await db.close()
        unlock()
      })())

    return { url: `http://${host}:${address.port}`, store, bootstrap, built: app, db, close }
  } catch (error) {
    await built?.app.close().catch(() => undefined)
    await built?.webhookWorker.stop().catch(() => undefined)
    await db.close().catch(() => undefined)
    unlock()
    throw error
  }
}
