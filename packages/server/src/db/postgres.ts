import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyStream } from 'pg-copy-streams'
import type { Connection, Db, DbOptions, Listener, QueryResult } from './db.js'
import { copyTargetSql, createTransactionGuard, INT8_OID, parseInt8, RollbackFailedError, runInTransaction } from './db.js'
import { retryTransaction } from './db-errors.js'

export interface PostgresOptions extends DbOptions {
  connectionString: string
  maxConnections: number
}

export function openPostgresDb(options: PostgresOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  })
  // An idle client that loses its connection emits here; without a listener Node would crash.
  pool.on('error', () => undefined)
  const guard = createTransactionGuard(options.strictTransactions ?? true)

  const wrap = (client: pg.PoolClient): Connection => ({
    // Streams the input to the server as it is read (backpressure included): COPY never holds more
    // than a chunk or two in this process.
    async copyFrom(target, input) {
      const copy = client.query(copyStream(`COPY ${copyTargetSql(target)} FROM STDIN`))
      await pipeline(Readable.from(input, { objectMode: false }), copy)
      return copy.rowCount
    },
    async exec(script: string) {
      await client.query(script)
    },
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      const result = await client.query(sql, [...params])
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length }
    },
  })

  async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect()
    let discard: Error | undefined
    try {
      return await work(client)
    } catch (error) {
      if (error instanceof RollbackFailedError) discard = error
      throw error instanceof RollbackFailedError ? error.original : error
    } finally {
      client.release(discard)
    }
  }

  return {
    kind: 'postgres',
    query: async (sql, params) => {
      guard.check('db.query')
      const result = await pool.query(sql, params ? [...params] : [])
      return { rows: result.rows as never[], rowCount: result.rowCount ?? result.rows.length }
    },
    // A serialization failure or deadlock runs the whole transaction again (bounded), on a fresh client.
    transaction: async (work) => {
      guard.check('db.transaction')
      return retryTransaction(() => withClient((client) => runInTransaction(wrap(client), (tx) => guard.run(() => work(tx)))))
    },
    withAdvisoryLock: (key, work) =>
      withClient(async (client) => {
        await client.query('SELECT pg_advisory_lock($1)', [key])
        try {
          return await work(wrap(client))
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [key])
        }
      }),
    listen: (channel, onNotify, onReconnect) => listenOn(options.connectionString, channel, onNotify, onReconnect),
    close: () => pool.end(),
  }
}

/**
 * A LISTEN on a connection of its own. Losing it (a restart, a network cut) is not an error for the
 * caller: it reconnects with backoff (up to 5 s apart) and says so through `onReconnect`.
 */
async function listenOn(connectionString: string, channel: string, onNotify: (payload: string) => void, onReconnect?: () => void): Promise<Listener> {
  let closed = false
  let client: pg.Client | null = null
  let retry: NodeJS.Timeout | null = null
  let delayMs = 100
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString })
    next.on('notification', (message) => {
      if (message.channel === channel) onNotify(message.payload ?? '')
    })
    next.on('error', () => lost(next))
    next.on('end', () => lost(next))
    await next.connect()
    await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
    if (closed) {
      await next.end().catch(() => undefined)
      return
    }
    client = next
    delayMs = 100
  }
  const lost = (which: pg.Client) => {
    if (closed || client !== which) return
    client = null
    which.end().catch(() => undefined)
    schedule()
  }
  const schedule = () => {
    if (closed || retry) return
    retry = setTimeout(() => {
      retry = null
      connect().then(
        () => onReconnect?.(),
        () => {
          delayMs = Math.min(delayMs * 2, 5000)
          schedule()
        },
      )
    }, delayMs)
    retry.unref()
  }
  await connect()
  return {
    async close() {
      closed = true
      if (retry) clearTimeout(retry)
      const current = client
      client = null
      await current?.end().catch(() => undefined)
    },
  }
}
