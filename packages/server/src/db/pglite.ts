import { PGlite } from '@electric-sql/pglite'
import type { Connection, CopyInput, Db, DbOptions, QueryResult } from './db.js'
import { copyTargetSql, createTransactionGuard, INT8_OID, parseInt8, RollbackFailedError, runInTransaction } from './db.js'
import { retryTransaction } from './db-errors.js'

/**
 * PGlite is a single connection. Every statement and every transaction takes one lock, so a
 * request's statements never run inside another request's open transaction.
 */
export interface PgliteOpenOptions extends DbOptions {
  /** For tools that need PGlite itself (the benchmark's COPY baseline); the server never does. */
  onOpen?: (instance: PGlite) => void
  /** Start from a copy of another store (a `dumpDataDir()` tarball) instead of an empty cluster: the benchmark's fresh stores. */
  loadDataDir?: Blob | File
}

const BYTEA_OID = 17

/**
 * `bytea` in PostgreSQL's hex text form (`\x…`), decoded and encoded by Node's hex codec. PGlite's
 * own run a `parseInt` (or `toString(16)`) per byte: a 100-record page of three encrypted fields
 * took 5–7 ms to decode that way, under 2 ms this way. The same types as PGlite's: Uint8Array in,
 * Uint8Array out.
 */
const parseBytea = (text: string): Uint8Array => {
  const bytes = Buffer.from(text.slice(2), 'hex')
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
const serializeBytea = (value: Uint8Array): string => `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`

export async function openPgliteDb(dataDir: string | undefined, options: PgliteOpenOptions = {}): Promise<Db> {
  const pg = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    parsers: { [INT8_OID]: parseInt8, [BYTEA_OID]: parseBytea },
    serializers: { [BYTEA_OID]: serializeBytea },
  })
  options.onOpen?.(pg)
  const guard = createTransactionGuard(options.strictTransactions ?? true)
  let queue: Promise<unknown> = Promise.resolve()

  function exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = queue.then(work, work)
    queue = run.catch(() => undefined)
    return run
  }

  const direct: Connection = {
    // PGlite has no COPY FROM STDIN: it reads COPY input from a Blob passed with the query. The
    // database runs in this process, so the chunks are in memory either way; a Blob keeps them as
    // UTF-8 bytes rather than JS strings.
    async copyFrom(target, input) {
      const result = await pg.query(`COPY ${copyTargetSql(target)} FROM '/dev/blob'`, [], { blob: new Blob(await collect(input)) })
      return result.affectedRows ?? 0
    },
    async exec(script: string) {
      await pg.exec(script)
    },
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      const result = await pg.query<Row>(sql, [...params])
      // PGlite reports affectedRows 0 for a SELECT; pg's rowCount counts the rows returned.
      return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) }
    },
  }

  return {
    kind: 'pglite',
    query: async (sql, params) => {
      guard.check('db.query')
      return exclusive(() => direct.query(sql, params))
    },
    // A serialization failure or deadlock runs the whole transaction again (bounded).
    transaction: async (work) => {
      guard.check('db.transaction')
      return retryTransaction(() =>
        exclusive(() =>
          runInTransaction(direct, (tx) => guard.run(() => work(tx))).catch((error: unknown) => {
            throw error instanceof RollbackFailedError ? error.original : error
          }),
        ),
      )
    },
    withAdvisoryLock: (key, work) =>
      // The process-wide lock already excludes everything else on this single connection, and a
      // PGlite data directory belongs to one process (see the lock file in main.ts).
      exclusive(() => work(direct)),
    // One process: a notification cannot be lost, so there is never a reconnect to report.
    listen: async (channel, onNotify) => {
      const unlisten = await exclusive(() => pg.listen(channel, onNotify))
      return { close: () => exclusive(() => unlisten()) }
    },
    close: () => exclusive(() => pg.close()),
  }
}

async function collect(input: CopyInput): Promise<string[]> {
  const chunks: string[] = []
  for await (const chunk of input) chunks.push(chunk)
  return chunks
}
