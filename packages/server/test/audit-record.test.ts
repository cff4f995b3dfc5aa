import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, STORE, type Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

// A bare audited event — one that records no other change, like a refused sign-in — goes out as
// ONE autocommit statement (no BEGIN, no COMMIT: issue 12's write goal), and the background
// sequencer still integrates it: once, with the next seq, its leaf in the tree.

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

/** Every statement and transaction the server sends while `work` runs. */
async function traced(work: () => Promise<unknown>) {
  const statements: Array<{ sql: string; params: readonly unknown[] }> = []
  let transactions = 0
  const { query, transaction } = h.db
  h.db.query = ((sql: string, params: readonly unknown[] = []) => {
    statements.push({ sql: sql.trim(), params })
    return query.call(h.db, sql, params)
  }) as typeof h.db.query
  h.db.transaction = ((run: Parameters<typeof transaction>[0]) => {
    transactions += 1
    return transaction.call(h.db, (tx) => {
      statements.push({ sql: 'BEGIN', params: [] })
      return run(tx)
    })
  }) as typeof h.db.transaction
  try {
    await work()
  } finally {
    h.db.query = query
    h.db.transaction = transaction
  }
  return { statements, transactions }
}

describe(`a bare audited event, on ${STORE}`, () => {
  it('a refused sign-in is one autocommit INSERT into the queue, with no transaction; the background sequencer integrates it once', async () => {
    const { statements, transactions } = await traced(async () => {
      const refused = await h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email: 'nobody@example.com', password: 'not a password' } })
      expect(refused.status).toBe(401)
    })
    expect(transactions).toBe(0)
    expect(statements.some((s) => /^(BEGIN|COMMIT)/i.test(s.sql))).toBe(false)
    const queued = statements.filter((s) => s.sql.includes('audit_pending'))
    expect(queued).toHaveLength(1)
    expect(queued[0]!.sql).toMatch(/^INSERT INTO audit_pending/)
    const eventId = queued[0]!.params[1] as string
    expect(eventId).toMatch(/^evt_/)

    // Committed when the request answered: another connection sees it queued.
    const pending = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_pending WHERE id = $1', [eventId])
    expect(pending.rows[0]!.n).toBe(1)

    // Nothing here integrates on its own (verify does not): the event reaching the log is the
    // background sequencer's doing, woken by the record.
    h.built.auditSequencer.start()
    let row: { seq: number; leaf_hash: string | null } | undefined
    try {
      for (let attempt = 0; attempt < 200 && !row; attempt++) {
        row = (await h.db.query<{ seq: number; leaf_hash: string | null }>('SELECT seq, leaf_hash FROM audit_events WHERE id = $1', [eventId])).rows[0]
        if (!row) await new Promise((resolve) => setTimeout(resolve, 25))
      }
    } finally {
      await h.built.auditSequencer.stop()
    }
    expect(row, 'integrated by the background sequencer').toBeDefined()
    expect(row!.leaf_hash).toMatch(/^[0-9a-f]{64}$/)
    const counts = await h.db.query<{ events: number; top: number; queued: number; copies: number }>(
      `SELECT (SELECT count(*)::int FROM audit_events WHERE space_id = 'default') AS events,
              (SELECT max(seq)::int FROM audit_events WHERE space_id = 'default') AS top,
              (SELECT count(*)::int FROM audit_pending WHERE id = $1) AS queued,
              (SELECT count(*)::int FROM audit_events WHERE id = $1) AS copies`,
      [eventId],
    )
    expect(counts.rows[0]).toEqual({ events: counts.rows[0]!.top, top: counts.rows[0]!.top, queued: 0, copies: 1 })

    const report = await h.request('GET', '/v1/spaces/default/audit:verify', { token: h.adminToken })
    expect(report.body).toMatchObject({ ok: true, firstBroken: null, pending: 0 })
    const proof = await h.request('GET', `/v1/spaces/default/audit/proof/inclusion?seq=${row!.seq}&treeSize=${counts.rows[0]!.top}`, { token: h.adminToken })
    expect(proof.status, proof.text).toBe(200)
  })

  it('a refused vault call is recorded the same way: one autocommit statement, no transaction', async () => {
    const created = await h.request('POST', '/v1/spaces/default/vault/models', {
      token: h.adminToken,
      body: { name: 'notes', primaryKey: 'n', fields: { n: { type: 'integer' } } },
    })
    expect(created.status, created.text).toBe(201)
    const { token } = await setUpVault(h, { notes: { actions: ['read'], acl: { source: 'none' } } }, null)
    const { statements, transactions } = await traced(async () => {
      const refused = await h.request('POST', '/api/models/notes', { token, body: { n: 1 } })
      expect(refused.status, refused.text).toBe(403)
    })
    expect(transactions).toBe(0)
    const queued = statements.filter((s) => s.sql.includes('audit_pending'))
    expect(queued).toHaveLength(1)
    expect(queued[0]!.sql).toMatch(/^INSERT INTO audit_pending/)
    expect(queued[0]!.params[4]).toBe('vault/refused')
  })
})
