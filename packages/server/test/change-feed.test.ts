import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChangeFeed, type ChangeFeed } from '../src/db/change-feed.js'
import type { Db } from '../src/db/db.js'
import { migrate } from '../src/db/migrate.js'
import { openPostgresDb } from '../src/db/postgres.js'
import { openTestDb, STORE, type TestDb } from './harness.js'

/**
 * Two "nodes": feed A on the test store, feed B on a second pool to the same database (PostgreSQL),
 * or on the same Db (PGlite, whose data belongs to one process).
 */
let testDb: TestDb
let dbB: Db
const feeds: ChangeFeed[] = []
beforeAll(async () => {
  testDb = await openTestDb()
  await migrate(testDb.db, async () => null)
  dbB = testDb.url ? openPostgresDb({ connectionString: testDb.url, maxConnections: 3 }) : testDb.db
})
afterAll(async () => {
  for (const feed of feeds) await feed.stop()
  if (dbB !== testDb.db) await dbB.close()
  await testDb.drop()
})

async function feedOn(db: Db, options: { pollIntervalMs?: number; ignoreNotifications?: boolean } = {}) {
  const feed = createChangeFeed({ db, ...options })
  feeds.push(feed)
  await feed.start()
  return feed
}

/** Resolves with the topic the next time `topic` changes on `feed`; rejects after `ms`. */
function nextChange(feed: ChangeFeed, topic: string, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe()
      reject(new Error(`no change of ${topic} within ${ms} ms`))
    }, ms)
    const unsubscribe = feed.subscribe(topic, (changed) => {
      clearTimeout(timer)
      unsubscribe()
      resolve(changed)
    })
  })
}

const uniqueTopic = (() => {
  let n = 0
  return (name: string) => `${name}:${++n}:${Date.now()}`
})()

describe('the change feed', () => {
  it('is not fresh before it starts: a cache must not answer from it', async () => {
    const feed = createChangeFeed({ db: testDb.db })
    expect(feed.fresh()).toBe(false)
    await feed.start()
    feeds.push(feed)
    expect(feed.fresh()).toBe(true)
  })

  it("tells this node's subscribers at once and bumps the topic's generation", async () => {
    const a = await feedOn(testDb.db)
    const topic = uniqueTopic('local')
    const seen: string[] = []
    a.subscribe(topic, (changed) => seen.push(changed))
    const before = a.generation(topic)
    a.announce(topic)
    expect(seen).toEqual([topic])
    expect(a.generation(topic)).toBe(before + 1)
    // Another topic is untouched.
    expect(a.generation(uniqueTopic('other'))).toBe(0)
  })

  it('reaches another node through NOTIFY', async () => {
    const a = await feedOn(testDb.db)
    const b = await feedOn(dbB, { pollIntervalMs: 60_000 })
    const topic = uniqueTopic('notify')
    const arrived = nextChange(b, topic)
    a.announce(topic)
    await expect(arrived).resolves.toBe(topic)
    expect(b.generation(topic)).toBe(1)
  })

  it('announceOnCommit: the commit delivers it to every node, the writer included, and only then; a rollback never', async () => {
    const a = await feedOn(testDb.db, { pollIntervalMs: 60_000 })
    const b = await feedOn(dbB, { pollIntervalMs: 60_000 })
    const committed = uniqueTopic('on-commit')
    const onA = nextChange(a, committed)
    const onB = nextChange(b, committed)
    await testDb.db.transaction(async (tx) => {
      await a.announceOnCommit(tx, committed)
      // Inside the transaction nobody has heard of it yet.
      expect(a.generation(committed)).toBe(0)
    })
    await expect(onA).resolves.toBe(committed)
    await expect(onB).resolves.toBe(committed)
    const { rows } = await testDb.db.query<{ version: number }>('SELECT version FROM change_versions WHERE topic = $1', [committed])
    expect(rows[0]?.version).toBe(1)

    const rolledBack = uniqueTopic('rolled-back')
    let heard = 0
    for (const feed of [a, b]) feed.subscribe(rolledBack, () => heard++)
    await expect(
      testDb.db.transaction(async (tx) => {
        await a.announceOnCommit(tx, rolledBack)
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    await testDb.db.query('SELECT 1')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(heard).toBe(0)
  })

  it('does not wake its own node twice for its own announcement', async () => {
    const a = await feedOn(testDb.db)
    const topic = uniqueTopic('self')
    let calls = 0
    a.subscribe(topic, () => calls++)
    a.announce(topic)
    // A round trip through the database: our own NOTIFY has been delivered by the time it answers.
    await testDb.db.query('SELECT 1')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(calls).toBe(1)
  })

  it.skipIf(STORE !== 'postgres')('with notifications lost, a committed touch still reaches another node at its next poll; a rolled-back one never does', async () => {
    const a = await feedOn(testDb.db)
    const b = await feedOn(dbB, { pollIntervalMs: 60_000, ignoreNotifications: true })
    const committed = uniqueTopic('committed')
    const rolledBack = uniqueTopic('rolled-back')
    await testDb.db.transaction((tx) => a.touch(tx, committed))
    await testDb.db
      .transaction(async (tx) => {
        await a.touch(tx, rolledBack)
        throw new Error('roll back')
      })
      .catch(() => undefined)
    a.announce(committed, rolledBack)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(b.generation(committed)).toBe(0)
    await b.pollNow()
    expect(b.generation(committed)).toBe(1)
    expect(b.generation(rolledBack)).toBe(0)
    // And again: a topic's second change is a change too.
    await testDb.db.transaction((tx) => a.touch(tx, committed))
    await b.pollNow()
    expect(b.generation(committed)).toBe(2)
  })

  it.skipIf(STORE !== 'postgres')('polls by itself within its interval when notifications are lost', async () => {
    const a = await feedOn(testDb.db)
    const b = await feedOn(dbB, { pollIntervalMs: 50, ignoreNotifications: true })
    const topic = uniqueTopic('polled')
    const arrived = nextChange(b, topic)
    await testDb.db.transaction((tx) => a.touch(tx, topic))
    await expect(arrived).resolves.toBe(topic)
  })

  it.skipIf(STORE !== 'postgres')('stops being fresh when it cannot read the version table, and recovers when it can', async () => {
    let broken = false
    const flaky: Db = { ...dbB, query: (sql, params) => (broken ? Promise.reject(new Error('database unreachable')) : dbB.query(sql, params)) }
    const b = await feedOn(flaky, { pollIntervalMs: 30 })
    expect(b.fresh()).toBe(true)
    broken = true
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(b.fresh()).toBe(false)
    broken = false
    await b.pollNow()
    expect(b.fresh()).toBe(true)
  })

  it.skipIf(STORE !== 'postgres')('reconnects its listener after losing it, and catches up by polling', async () => {
    const a = await feedOn(testDb.db)
    const b = await feedOn(dbB, { pollIntervalMs: 60_000 })
    const missed = uniqueTopic('missed')
    const caughtUp = nextChange(b, missed, 10_000)
    // Kill every LISTEN connection to this database (B's included), then change a topic meanwhile.
    await testDb.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
    )
    await testDb.db.transaction((tx) => a.touch(tx, missed))
    await expect(caughtUp).resolves.toBe(missed)
    // And notifications flow again on the new connection.
    const later = uniqueTopic('later')
    const arrived = nextChange(b, later, 10_000)
    for (let i = 0; i < 50; i++) {
      a.announce(later)
      const done = await Promise.race([arrived.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 100))])
      if (done) break
    }
    await expect(arrived).resolves.toBe(later)
  })
})
