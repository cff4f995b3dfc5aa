import { readFile } from 'node:fs/promises'
import pg from 'pg'
import type { Db, Queryable } from '../../packages/server/src/db/db.js'

export interface CapturedStatement {
  sql: string
  params: unknown[]
}

/**
 * The statements `work` sends, captured by handing it a Queryable that records them and answers no
 * rows. Lets the bench EXPLAIN the server's own SQL without a copy of it that could drift.
 */
export async function captureSql(work: (db: Queryable) => Promise<unknown>): Promise<CapturedStatement[]> {
  const captured: CapturedStatement[] = []
  const recorder: Queryable = {
    query: async <Row>(sql: string, params: readonly unknown[] = []) => {
      captured.push({ sql, params: [...params] })
      return { rows: [] as Row[], rowCount: 0 }
    },
  }
  await work(recorder)
  return captured
}

/** EXPLAIN (ANALYZE, BUFFERS) of one statement with its parameters, as plan lines. */
export async function explainAnalyze(db: Queryable, statement: CapturedStatement): Promise<string[]> {
  const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`, statement.params)
  return rows.map((row) => row['QUERY PLAN'])
}

export interface WaitProfile {
  intervalMs: number
  polls: number
  /** Share of sampled non-idle backends of the database in each state: "Lock:transactionid", "CPU", … */
  shares: Record<string, number>
  /** pg_stat_wal deltas over the sampled window (cluster-wide). */
  walSyncs: number
  walWrites: number
  walRecords: number
}

export interface WaitSampler {
  stop(): Promise<WaitProfile>
}

interface WalCounters {
  wal_sync: number
  wal_write: number
  wal_records: number
}

/**
 * Samples pg_stat_activity for the database at `url` every `intervalMs` (a poor man's wait-event
 * profile): what the server's connections are doing — on CPU, waiting for a lock, for the WAL to
 * reach disk, or for the client (idle in transaction) — while a scenario runs.
 */
export async function startWaitSampler(url: string, intervalMs = 10): Promise<WaitSampler> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const wal = async () =>
    (await client.query<WalCounters>('SELECT wal_sync::float8 AS wal_sync, wal_write::float8 AS wal_write, wal_records::float8 AS wal_records FROM pg_stat_wal'))
      .rows[0]!
  const before = await wal()
  const counts = new Map<string, number>()
  let polls = 0
  let stopped = false
  let failure: Error | null = null
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await client.query<{ state: string | null; wait_event_type: string | null; wait_event: string | null }>(
        `SELECT state, wait_event_type, wait_event FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state IS DISTINCT FROM 'idle'`,
      )
      polls += 1
      for (const row of rows) {
        const key = row.state === 'active' ? (row.wait_event_type ? `${row.wait_event_type}:${row.wait_event}` : 'CPU') : `${row.state} (${row.wait_event ?? '-'})`
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })().catch((error: unknown) => {
    failure = error as Error
  })
  return {
    async stop() {
      stopped = true
      await loop
      if (failure) {
        await client.end().catch(() => undefined)
        throw failure
      }
      const after = await wal()
      await client.end()
      const total = [...counts.values()].reduce((sum, count) => sum + count, 0) || 1
      const shares = Object.fromEntries([...counts.entries()].sort((a, b) => b[1] - a[1]).map(([key, count]) => [key, Math.round((count / total) * 1000) / 1000]))
      return {
        intervalMs,
        polls,
        shares,
        walSyncs: after.wal_sync - before.wal_sync,
        walWrites: after.wal_write - before.wal_write,
        walRecords: after.wal_records - before.wal_records,
      }
    },
  }
}

/** "Lock:transactionid 81%, IO:WALSync 9%, CPU 6%" — the top entries of a wait profile. */
export const topWaits = (profile: WaitProfile, count = 4): string =>
  Object.entries(profile.shares)
    .slice(0, count)
    .map(([key, share]) => `${key} ${Math.round(share * 100)}%`)
    .join(', ')

/** utime + stime of a /proc stat line, in µs (the fields after the command name, which may hold spaces). */
const statCpuMicros = (stat: string): number => {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6 // USER_HZ on Linux
}

/**
 * CPU time (µs) of this process's main thread — where both servers of a scenario run, and PGlite
 * with them — without the load generator's worker thread, which process.cpuUsage() counts too. Null
 * off Linux. Its resolution is 10 ms: read it over runs of thousands of requests.
 */
export async function mainThreadCpu(): Promise<number | null> {
  try {
    return statCpuMicros(await readFile(`/proc/self/task/${process.pid}/stat`, 'utf8'))
  } catch {
    return null
  }
}

/**
 * CPU time (µs) each PostgreSQL backend of this database has used so far, read from /proc: the
 * server's work that the bench process's own CPU figure cannot see. Null where /proc is not there
 * to read (not Linux; the bench only ever talks to a server on this machine).
 */
export async function postgresBackendCpu(db: Db): Promise<Map<number, number> | null> {
  const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')
  const usage = new Map<number, number>()
  for (const { pid } of rows) {
    try {
      // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
      usage.set(pid, statCpuMicros(await readFile(`/proc/${pid}/stat`, 'utf8')))
    } catch {
      if (process.platform !== 'linux') return null
    }
  }
  return usage
}

/** CPU the backends used between two readings; a backend that started in between counts in full. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0
  for (const [pid, micros] of after) total += micros - (before.get(pid) ?? 0)
  return total
}
