import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openPgliteDb } from '../src/db/pglite.js'
import { openPostgresDb } from '../src/db/postgres.js'
import { STORE } from './harness.js'
import { processHarness, tokenIn } from './process-harness.js'

const { storeEnv, startProcess } = processHarness('gatehouse-audit-crash-')

/** Opens the store the killed server left (the server is gone: PGlite's directory is free). */
const openStore = (env: Record<string, string>) =>
  env.DATABASE_URL ? Promise.resolve(openPostgresDb({ connectionString: env.DATABASE_URL, maxConnections: 2 })) : openPgliteDb(join(env.GATEHOUSE_DATA_DIR!, 'pgdata'))

describe(`a server killed between commit and integration, on ${STORE}`, () => {
  it('after a restart, every committed event is integrated, none twice, in one gapless sequence', { timeout: 180_000 }, async () => {
    const env = await storeEnv()
    // This node runs no background sequencer: its events stay queued until it dies.
    const first = await startProcess({ ...env, GATEHOUSE_AUDIT_SEQUENCER_INTERVAL_MS: '0' })
    const token = tokenIn(first.output())!
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    for (let i = 0; i < 20; i++) {
      const created = await fetch(`${first.url}/v1/spaces/default/groups`, { method: 'POST', headers, body: JSON.stringify({ name: `crash-${i}` }) })
      expect(created.status).toBe(201)
    }
    first.child.kill('SIGKILL')
    await first.exited

    const db = await openStore(env)
    try {
      const queued = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_pending WHERE space_id = 'default' AND event = 'group/create'`)
      expect(queued.rows[0]!.n).toBe(20)
    } finally {
      await db.close()
    }

    const second = await startProcess(env)
    // verify does not integrate: pending reaching 0 is the restarted node's background sequencer at work.
    let report: any
    for (let attempt = 0; attempt < 100; attempt++) {
      report = await (await fetch(`${second.url}/v1/spaces/default/audit:verify`, { headers })).json()
      if (report.pending === 0) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(report).toMatchObject({ ok: true, pending: 0, firstBroken: null })
    const lines = (await (await fetch(`${second.url}/v1/spaces/default/audit:export`, { headers })).text()).trim().split('\n').map((line) => JSON.parse(line))
    expect(lines.map((event) => event.seq)).toEqual(Array.from({ length: lines.length }, (_, i) => i + 1))
    const groups = lines.filter((event) => event.event === 'group/create').map((event) => event.meta.name ?? event.id)
    expect(groups).toHaveLength(20)
    expect(new Set(lines.map((event) => event.id)).size).toBe(lines.length)
    expect(report.checkedEvents).toBe(lines.length)
    second.child.kill('SIGTERM')
    await second.exited
  })
})
