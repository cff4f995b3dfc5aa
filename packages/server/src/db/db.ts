import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * The one storage interface. PGlite (embedded) and PostgreSQL (through `pg`) both implement it, and
 * both run the same SQL: PostgreSQL is the only dialect.
 */
export interface QueryResult<Row> {
  rows: Row[]
  rowCount: number
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>
}

/** Where `copyFrom` writes: a table (a temporary one included) and the columns each input row fills, in order. */
export interface CopyTarget {
  table: string
  columns: readonly string[]
}

/**
 * Text-format COPY input: rows encoded by `copyTextChunks` (copy-text.ts), in chunks of any size.
 * An iterable is consumed as it is read, so a caller can stream rows without holding them all.
 */
export type CopyInput = Iterable<string> | AsyncIterable<string>

export interface CopySource {
  /**
   * `COPY target FROM STDIN` (PostgreSQL, through pg-copy-streams) or `FROM '/dev/blob'` (PGlite):
   * the fastest way rows reach a table. Returns how many rows were copied. Inside a transaction it
   * is part of it: a rollback undoes it.
   */
  copyFrom(target: CopyTarget, input: CopyInput): Promise<number>
}

/** A transaction's handle: statements and COPY, both inside the transaction. */
export interface Transaction extends Queryable, CopySource {}

/** A connection that can also run a multi-statement script (migrations) and COPY. */
export interface Connection extends Queryable, CopySource {
  exec(script: string): Promise<void>
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * `"table" ("a", "b")`: names are code's own constants, never user input; anything else is
 * refused rather than quoted, so no caller can build SQL from a name by mistake.
 */
export function copyTargetSql({ table, columns }: CopyTarget): string {
  for (const name of [table, ...columns]) {
    if (!IDENTIFIER.test(name)) throw new Error(`copyFrom: '${name}' is not a plain lower-case identifier`)
  }
  if (columns.length === 0) throw new Error('copyFrom: no columns')
  return `"${table}" (${columns.map((column) => `"${column}"`).join(', ')})`
}

export type StoreKind = 'pglite' | 'postgres'

export interface Db extends Queryable {
  readonly kind: StoreKind
  /**
   * Runs `work` inside BEGIN … COMMIT on one connection; any throw rolls back. The handle given to
   * `work` is the only one that sees the transaction: pass it down explicitly. On a serialization
   * failure or a deadlock (40001/40P01) the whole of `work` runs again, a bounded number of times
   * (`retryTransaction` in db-errors.ts), so `work` must not keep state outside the transaction.
   */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>
  /** Runs `work` holding a session-level advisory lock, released afterwards (migrations, bootstrap). */
  withAdvisoryLock<T>(key: number, work: (conn: Connection) => Promise<T>): Promise<T>
  /**
   * Calls `onNotify` with the payload of every `NOTIFY channel` (from any process on PostgreSQL; on
   * PGlite, from this one). On PostgreSQL the listener has a connection of its own, outside the pool,
   * and reconnects after losing it, then calls `onReconnect`: notifications sent meanwhile are lost,
   * so the caller must catch up some other way (the change feed polls).
   */
  listen(channel: string, onNotify: (payload: string) => void, onReconnect?: () => void): Promise<Listener>
  close(): Promise<void>
}

export interface Listener {
  close(): Promise<void>
}

/** Options both drivers take. */
export interface DbOptions {
  /**
   * Throw when `db.query` or `db.transaction` is called on this Db from inside one of its own
   * transaction callbacks (it would deadlock on PGlite and run outside the transaction on `pg`).
   * On by default; main.ts turns it off when NODE_ENV=production.
   */
  strictTransactions?: boolean
}

/**
 * Knows whether the current async context is inside a transaction callback of one Db. The flag is
 * cleared when the callback settles, so a timer or promise started inside it and still running after
 * the commit is not mistaken for being inside.
 */
export function createTransactionGuard(enabled: boolean) {
  const inside = new AsyncLocalStorage<{ active: boolean }>()
  return {
    /** Runs the callback of a transaction marked as inside it. */
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (!enabled) return work()
      const state = { active: true }
      try {
        return await inside.run(state, work)
      } finally {
        state.active = false
      }
    },
    /** Throws when called from inside a transaction callback of this Db. */
    check(what: 'db.query' | 'db.transaction'): void {
      if (enabled && inside.getStore()?.active) {
        throw new Error(
          `${what} called inside a db.transaction callback of the same Db: it would run outside the transaction (pg) or deadlock (PGlite); use the tx handle given to the callback`,
        )
      }
    },
  }
}

export type TransactionGuard = ReturnType<typeof createTransactionGuard>

/** Both drivers return int8 as a JS number: sequence numbers and counts stay far below 2^53. */
export const INT8_OID = 20
export const parseInt8 = (value: string): number => Number(value)

/** Marks an error whose ROLLBACK also failed: the connection may still be inside a transaction. */
export class RollbackFailedError extends Error {
  constructor(readonly original: unknown) {
    super('ROLLBACK failed after an error; the connection is discarded')
  }
}

/**
 * BEGIN … COMMIT on one connection, shared by both drivers. The handle given to `work` refuses to
 * run once the transaction has ended, so a leaked handle cannot write outside it. Given a
 * connection that can COPY, the handle can too.
 */
export async function runInTransaction<T>(conn: Queryable & CopySource, work: (tx: Transaction) => Promise<T>): Promise<T>
export async function runInTransaction<T>(conn: Queryable, work: (tx: Queryable) => Promise<T>): Promise<T>
export async function runInTransaction<T>(conn: Queryable & Partial<CopySource>, work: (tx: Transaction) => Promise<T>): Promise<T> {
  let finished = false
  const ended = () => Promise.reject(new Error('transaction handle used after the transaction ended'))
  const tx: Transaction = {
    query: (sql, params) => (finished ? ended() : conn.query(sql, params)),
    copyFrom: (target, input) => {
      if (finished) return ended()
      if (!conn.copyFrom) return Promise.reject(new Error('copyFrom: this connection cannot COPY'))
      return conn.copyFrom(target, input)
    },
  }
  await conn.query('BEGIN')
  try {
    const result = await work(tx)
    await conn.query('COMMIT')
    return result
  } catch (error) {
    try {
      await conn.query('ROLLBACK')
    } catch {
      throw new RollbackFailedError(error)
    }
    throw error
  } finally {
    finished = true
  }
}
