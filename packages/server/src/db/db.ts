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

/** A connection that can also run a multi-statement script (migrations). */
export interface Connection extends Queryable {
  exec(script: string): Promise<void>
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
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>
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
 * run once the transaction has ended, so a leaked handle cannot write outside it.
 */
export async function runInTransaction<T>(conn: Queryable, work: (tx: Queryable) => Promise<T>): Promise<T> {
  let finished = false
  const tx: Queryable = {
    query: (sql, params) => {
      if (finished) return Promise.reject(new Error('transaction handle used after the transaction ended'))
      return conn.query(sql, params)
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
