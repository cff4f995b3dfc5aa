import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { buildApp, type BuiltApp } from './app.js'
import type { Config } from './config.js'
import type { Db } from './db/db.js'
import { migrate, MIGRATION_LOCK_KEY } from './db/migrate.js'
import { createPeriodicTask } from './lib/periodic.js'
import { ensurePrivateDir, tightenTree, type Tightened } from './lib/private-files.js'
import { openPgliteDb } from './db/pglite.js'
import { openPostgresDb } from './db/postgres.js'
import { adoptAuditKey } from './modules/audit/audit-keys.js'
import { createDeferredSigner } from './modules/audit/audit-signer.js'
import { createAuditStore } from './modules/audit/audit-store.js'
import type { CreatedSpace } from './modules/spaces/spaces-types.js'
import { createKeysStore } from './modules/keys/keys-store.js'
import { adoptMasterKey, loadPreviousMasterKey, prepareMasterKey } from './modules/keys/master-key.js'

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
    writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 })
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
    writeFileSync(lockFile, String(process.pid), { mode: 0o600 })
  }
  return () => rmSync(lockFile, { force: true })
}

/** What a start found readable by others and made private: said once, loudly, because someone may have read or changed it. */
function warnIfLoose(logger: Logger, what: string, tightened: Tightened[]): void {
  if (tightened.length === 0) return
  logger.warn(
    { path: what, count: tightened.length, examples: tightened.slice(0, 5) },
    `${what} was readable or writable by other users: made it private (directories 0700, files 0600); check that nobody else read or changed it`,
  )
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  // Vault rows, token hashes and keys live here: owner only, whatever the umask (main.ts also sets
  // one), and a looser directory left by an earlier start is fixed with a warning.
  warnIfLoose(logger, config.dataDir, ensurePrivateDir(config.dataDir))
  let unlock = () => {}
  let db: Db
  let store: string
  if (config.databaseUrl) {
    db = openPostgresDb({ connectionString: config.databaseUrl, maxConnections: config.dbPoolMax, strictTransactions: config.strictTransactions })
    store = `PostgreSQL at ${new URL(config.databaseUrl).host}${new URL(config.databaseUrl).pathname}`
  } else {
    unlock = lockDataDir(config.dataDir)
    const pgdata = join(config.dataDir, 'pgdata')
    db = await openPgliteDb(pgdata, { strictTransactions: config.strictTransactions })
    // PGlite unpacks its initial cluster with mode 0666 whatever the umask: tightened now, quietly.
    tightenTree(pgdata)
    store = `PGlite at ${pgdata}`
  }

  let built: BuiltApp | undefined
  try {
    // The master key is checked before anything is migrated or written: a node started with the
    // wrong key stops here, naming the key the store expects, and changes nothing.
    const previousMasterKey = loadPreviousMasterKey(config.masterKeyPrevious)
    const keysStore = createKeysStore()
    const masterKey = await db.withAdvisoryLock(MIGRATION_LOCK_KEY, (conn) => prepareMasterKey(conn, keysStore, config.masterKey, previousMasterKey))
    // The audit key is chosen after migrating, under the migration lock (adoptAuditKey below).
    const auditKey = createDeferredSigner()
    const app = await buildApp({
      db,
      signer: auditKey.signer,
      kms: masterKey.kms,
      previousKms: previousMasterKey,
      logger,
      userTokenTtlSeconds: config.userTokenTtlSeconds,
      signInRateLimit: { max: config.signInAttemptsPerMinute, timeWindowMs: 60_000 },
      bodyLimitBytes: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
      outboundAllow: config.outboundAllow,
      auditLog: config.auditLog,
      publicUrl: config.publicUrl,
      ssoFromConfig: config.oidc,
      startGated: true,
    })
    built = app
    // Bind first: a port already taken must fail before the first start writes (and would lose)
    // its one-time admin token.
    await app.app.listen({ host: config.host, port: config.port })
    const { applied, result: bootstrap } = await migrate(db, async (conn) => {
      const { signer, outcome } = await adoptAuditKey(conn, createAuditStore(), {
        keyFile: config.auditKeyFile,
        rotateFrom: config.auditKeyRotateFrom,
        clock: () => new Date(),
      })
      auditKey.resolve(signer)
      // The key file may predate the owner-only rule: tightened, with a warning.
      warnIfLoose(logger, config.auditKeyFile, tightenTree(config.auditKeyFile))
      if (outcome !== 'current') logger.info({ keyId: signer.keyId, keyFile: config.auditKeyFile }, `audit signing key ${outcome}`)
      const master = await adoptMasterKey(conn, app.services.keys, keysStore, masterKey, previousMasterKey)
      if (master.decision !== 'current') logger.info({ keyId: masterKey.kms.keyId, from: masterKey.where }, `master key ${master.decision === 'register' ? 'registered' : 'rotated: every wrapped key and secret is now under it'}`)
      if (master.decision === 'current' && previousMasterKey) logger.warn({ keyId: previousMasterKey.keyId }, 'GATEHOUSE_MASTER_KEY_PREVIOUS is set but the rotation is done: remove it')
      if (master.sealed > 0) logger.info({ count: master.sealed }, 'sealed stored secrets under the master key')
      // The key file may predate the owner-only rule: tightened, with a warning.
      if (config.masterKey.kind === 'file') warnIfLoose(logger, config.masterKey.path, tightenTree(config.masterKey.path))
      return app.services.spaces.bootstrapIfEmpty(conn)
    })
    if (applied.length > 0) logger.info({ applied }, 'applied migrations')
    if (config.oidc) await app.services.sso.ensureConfiguredProvider(config.oidc)
    app.lifecycle.starting = false
    // Webhook deliveries need the migrated tables; queued ones left by a previous run go out now.
    app.webhookWorker.start()
    // Events committed before a crash and never integrated are picked up by its first sweep.
    if (config.auditLog.sequencerIntervalMs > 0) app.auditSequencer.start()
    // A job left running by a node that stopped or died is resumed once its lease runs out.
    app.jobRunner.start()
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
        await app.jobRunner.stop()
        await app.auditSequencer.stop()
        await app.webhookWorker.stop()
        await db.close()
        unlock()
      })())

    return { url: `http://${host}:${address.port}`, store, bootstrap, built: app, db, close }
  } catch (error) {
    await built?.app.close().catch(() => undefined)
    await built?.webhookWorker.stop().catch(() => undefined)
    await built?.auditSequencer.stop().catch(() => undefined)
    await built?.jobRunner.stop().catch(() => undefined)
    await db.close().catch(() => undefined)
    unlock()
    throw error
  }
}
