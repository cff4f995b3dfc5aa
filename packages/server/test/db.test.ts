import { afterEach, describe, expect, it } from 'vitest'
import { loadMigrations, migrate } from '../src/db/migrate.js'
import { openPostgresDb } from '../src/db/postgres.js'
import { openTestDb, STORE, type TestDb } from './harness.js'

let current: TestDb | null = null
afterEach(async () => {
  await current?.drop()
  current = null
})

async function freshDb() {
  current = await openTestDb()
  await migrate(current.db, async () => null)
  await current.db.query('CREATE TABLE probe (id int PRIMARY KEY, label text NOT NULL)')
  return current.db
}

describe(`Db on ${STORE}`, () => {
  it('keeps concurrent transactions apart: a rollback takes back only its own statements', async () => {
    const db = await freshDb()
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO probe (id, label) VALUES ($1, $2)', [i, `first-${i}`])
          // Yield between statements so that, without isolation, others' statements interleave.
          await new Promise((resolve) => setTimeout(resolve, 1))
          await tx.query('UPDATE probe SET label = $2 WHERE id = $1', [i, `second-${i}`])
          if (i % 3 === 0) throw new Error(`roll back ${i}`)
        }),
      ),
    )
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toHaveLength(14)
    const { rows } = await db.query<{ id: number; label: string }>('SELECT id, label FROM probe ORDER BY id')
    const expected = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 !== 0)
    expect(rows.map((row) => row.id)).toEqual(expected)
    expect(rows.every((row) => row.label === `second-${row.id}`)).toBe(true)
  })

  it('a statement outside any transaction never lands inside an open one', async () => {
    const db = await freshDb()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const rolledBack = db
      .transaction(async (tx) => {
        await tx.query("INSERT INTO probe (id, label) VALUES (1, 'in tx')")
        await gate
        throw new Error('roll back')
      })
      .catch(() => 'rolled back')
    await new Promise((resolve) => setTimeout(resolve, 10))
    const outside = db.query("INSERT INTO probe (id, label) VALUES (2, 'outside')")
    release()
    expect(await rolledBack).toBe('rolled back')
    await outside
    const { rows } = await db.query<{ id: number }>('SELECT id FROM probe ORDER BY id')
    expect(rows.map((row) => row.id)).toEqual([2])
  })

  it('refuses a transaction handle used after its transaction ended', async () => {
    const db = await freshDb()
    let leaked: { query: (sql: string) => Promise<unknown> } | null = null
    await db.transaction(async (tx) => {
      leaked = tx
    })
    await expect(leaked!.query('SELECT 1')).rejects.toThrow('after the transaction ended')
  })

  it('refuses db.query and db.transaction called inside a transaction callback of the same Db, and rolls back', async () => {
    const db = await freshDb()
    const message = 'called inside a db.transaction callback of the same Db'
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO probe (id, label) VALUES (1, 'in tx')")
        await db.query('SELECT 1')
      }),
    ).rejects.toThrow(`db.query ${message}`)
    await expect(db.transaction(async () => db.transaction(async (inner) => inner.query('SELECT 1')))).rejects.toThrow(`db.transaction ${message}`)
    // Deeper in the same async context (after awaits, in a nested promise) it is still inside.
    await expect(
      db.transaction(async (tx) => {
        await tx.query('SELECT 1')
        await Promise.resolve().then(() => db.query('SELECT 1'))
      }),
    ).rejects.toThrow(message)
    expect((await db.query('SELECT id FROM probe')).rowCount).toBe(0)
  })

  it('lets work started inside a transaction callback use the Db once the transaction has ended', async () => {
    const db = await freshDb()
    let later!: Promise<unknown>
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO probe (id, label) VALUES (1, 'committed')")
      later = new Promise((resolve) => setTimeout(resolve, 5)).then(() => db.query('SELECT label FROM probe'))
    })
    await expect(later).resolves.toMatchObject({ rows: [{ label: 'committed' }] })
  })

  it.runIf(STORE === 'postgres')('lets the guard be turned off (production): the statement then runs outside the transaction', async () => {
    current = await openTestDb()
    const db = openPostgresDb({ connectionString: current.url!, maxConnections: 2, strictTransactions: false })
    try {
      await expect(db.transaction(async () => db.query<{ one: number }>('SELECT 1 AS one'))).resolves.toMatchObject({ rows: [{ one: 1 }] })
    } finally {
      await db.close()
    }
  })

  it('returns int8 as numbers and counts rows the same way on both drivers', async () => {
    const db = await freshDb()
    await db.query("INSERT INTO probe VALUES (1, 'a'), (2, 'b')")
    const count = await db.query<{ n: number }>('SELECT count(*) AS n FROM probe')
    expect(count.rows[0]!.n).toBe(2)
    expect((await db.query('SELECT * FROM probe')).rowCount).toBe(2)
    expect((await db.query("UPDATE probe SET label = 'c'")).rowCount).toBe(2)
  })

  it('applies each migration once and records it', async () => {
    current = await openTestDb()
    const first = await migrate(current.db, async () => 'done')
    const all = await loadMigrations()
    expect(first.applied).toEqual(all.map((migration) => migration.version))
    expect(first.result).toBe('done')
    const second = await migrate(current.db, async () => 'again')
    expect(second.applied).toEqual([])
    const { rows } = await current.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')
    expect(rows.map((row) => row.version)).toEqual(all.map((migration) => migration.version))
  })

  it('rolls back a failing migration whole and says which one failed', async () => {
    current = await openTestDb()
    const broken = [
      ...(await loadMigrations()),
      { version: 99, name: 'broken', sql: 'CREATE TABLE half_done (id int); SELECT * FROM no_such_table;' },
    ]
    await expect(migrate(current.db, async () => null, broken)).rejects.toThrow('migration 99_broken failed')
    const exists = await current.db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'")
    expect(exists.rowCount).toBe(0)
  })

  it.runIf(STORE === 'postgres')('several processes migrating one database at once apply each migration exactly once', async () => {
    current = await openTestDb()
    const pools = Array.from({ length: 4 }, () => openPostgresDb({ connectionString: current!.url!, maxConnections: 2 }))
    try {
      const results = await Promise.all(pools.map((db) => migrate(db, async () => null)))
      const applied = results.flatMap((result) => result.applied)
      expect(applied.sort((a, b) => a - b)).toEqual((await loadMigrations()).map((migration) => migration.version))
    } finally {
      await Promise.all(pools.map((db) => db.close()))
    }
  })
})
