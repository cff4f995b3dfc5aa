import { readdir, readFile } from 'node:fs/promises'
import type { Connection, Db } from './db.js'

/** One fixed key for the whole installation: every process runs migrations under it in turn. */
export const MIGRATION_LOCK_KEY = 7_407_011

const MIGRATION_FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/

export interface Migration {
  version: number
  name: string
  sql: string
}

export async function loadMigrations(dir: URL = new URL('./migrations/', import.meta.url)): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort()
  const migrations: Migration[] = []
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file)
    if (!match) throw new Error(`migration file ${file} must be named NNNN_name.sql`)
    migrations.push({ version: Number(match[1]), name: match[2]!, sql: await readFile(new URL(file, dir), 'utf8') })
  }
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`migration ${migration.version} is out of sequence (expected ${index + 1})`)
  })
  return migrations
}

/**
 * Applies every migration not yet applied, each in its own transaction, holding an advisory lock so
 * that several processes starting at once against one PostgreSQL apply each migration exactly once.
 * `afterMigrations` runs under the same lock (first-start bootstrap needs the same exclusion).
 */
export async function migrate<T>(
  db: Db,
  afterMigrations: (conn: Connection) => Promise<T>,
  migrations?: Migration[],
): Promise<{ applied: number[]; result: T }> {
  const all = migrations ?? (await loadMigrations())
  return db.withAdvisoryLock(MIGRATION_LOCK_KEY, async (conn) => {
    await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const done = new Set((await conn.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((row) => row.version))
    const applied: number[] = []
    for (const migration of all) {
      if (done.has(migration.version)) continue
      await conn.query('BEGIN')
      try {
        await conn.exec(migration.sql)
        await conn.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name])
        await conn.query('COMMIT')
      } catch (error) {
        await conn.query('ROLLBACK')
        throw new Error(`migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`, { cause: error })
      }
      applied.push(migration.version)
    }
    return { applied, result: await afterMigrations(conn) }
  })
}
