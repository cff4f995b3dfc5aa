import { performance } from 'node:perf_hooks'
import type { Db } from '../../packages/server/src/db/db.js'

export interface StatementCost {
  /** The statement's first words, enough to tell which one it is. */
  statement: string
  /** Times it ran per unit of work (per find, per request). */
  perUnit: number
  /** Milliseconds it took per unit, measured in the client: round trip included. */
  msPerUnit: number
  /** The last text and parameters it ran with: what to EXPLAIN. */
  last?: { sql: string; params: unknown[] }
}

export interface TraceReport {
  units: number
  statementsPerUnit: number
  /** Milliseconds per unit spent waiting for the database (BEGIN and COMMIT included). */
  dbMsPerUnit: number
  statements: StatementCost[]
}

/** Which statements the server sends and how long each takes, counted only while recording. */
export interface StatementTracer {
  db: Db
  record<T>(units: number, work: () => Promise<T>): Promise<TraceReport>
}

const label = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 72)

/**
 * Wraps a Db so the bench can say where a request's time goes, statement by statement: the evidence
 * behind a ratio that is a count of round trips. Off (one boolean test per statement) except inside
 * `record`, which the measured runs never overlap.
 */
export function traceStatements(inner: Db): StatementTracer {
  let recording = false
  const costs = new Map<string, { count: number; ms: number; last?: { sql: string; params: unknown[] } }>()
  let transactions = { count: 0, ms: 0, statementsMs: 0 }
  const timed = async <T>(run: () => Promise<T>, done: (ms: number) => void): Promise<T> => {
    if (!recording) return run()
    const started = performance.now()
    try {
      return await run()
    } finally {
      done(performance.now() - started)
    }
  }
  const statement = (sql: string, inTransaction: boolean, params?: readonly unknown[]) => (ms: number) => {
    const cost = costs.get(label(sql)) ?? { count: 0, ms: 0 }
    cost.count += 1
    cost.ms += ms
    cost.last = { sql, params: [...(params ?? [])] }
    costs.set(label(sql), cost)
    if (inTransaction) transactions.statementsMs += ms
  }
  const db: Db = {
    kind: inner.kind,
    query: (sql, params) => timed(() => inner.query(sql, params), statement(sql, false, params)),
    transaction: (work) =>
      timed(
        () =>
          inner.transaction((tx) =>
            work({
              query: (sql, params) => timed(() => tx.query(sql, params), statement(sql, true, params)),
              copyFrom: (target, input) => timed(() => tx.copyFrom(target, input), statement(`COPY ${target.table} FROM STDIN`, true)),
            }),
          ),
        (ms) => {
          transactions.count += 1
          transactions.ms += ms
        },
      ),
    withAdvisoryLock: (key, work) => inner.withAdvisoryLock(key, work),
    listen: (channel, onNotify, onReconnect) => inner.listen(channel, onNotify, onReconnect),
    close: () => inner.close(),
  }
  return {
    db,
    async record(units, work) {
      costs.clear()
      transactions = { count: 0, ms: 0, statementsMs: 0 }
      recording = true
      try {
        await work()
      } finally {
        recording = false
      }
      const statements: StatementCost[] = [...costs.entries()].map(([sql, cost]) => ({ statement: sql, perUnit: cost.count / units, msPerUnit: cost.ms / units, ...(cost.last ? { last: cost.last } : {}) }))
      if (transactions.count > 0) {
        // BEGIN and COMMIT are not sent through the handle the work gets: what the transaction took
        // beyond its statements is theirs (and the code running between statements).
        statements.push({ statement: 'BEGIN + COMMIT', perUnit: (transactions.count * 2) / units, msPerUnit: (transactions.ms - transactions.statementsMs) / units })
      }
      const outside = [...costs.values()].reduce((sum, cost) => sum + cost.ms, 0) - transactions.statementsMs
      return {
        units,
        statementsPerUnit: statements.reduce((sum, cost) => sum + cost.perUnit, 0),
        dbMsPerUnit: (outside + transactions.ms) / units,
        statements: statements.sort((a, b) => b.msPerUnit - a.msPerUnit),
      }
    },
  }
}
