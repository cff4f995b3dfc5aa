import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, STORE, type Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

// A vault find writes its audit event in the same statement as its page (issue 12): the event
// lists the page's keys in page order, its count and total, commits before the rows are returned,
// and its leaf hash — computed by the sequencer from what was stored — verifies.

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

describe(`a vault find's audit event, on ${STORE}`, () => {
  it('is written with the page in one statement: page order, count, total, past the last page too; the log verifies', async () => {
    const created = await h.request('POST', '/v1/spaces/default/vault/models', {
      token: h.adminToken,
      body: { name: 'orders', primaryKey: 'n', fields: { n: { type: 'integer' }, region: { type: 'string', searchable: true } } },
    })
    expect(created.status, created.text).toBe(201)
    const { token } = await setUpVault(h, { orders: { actions: ['read', 'write'], acl: { source: 'none' } } }, null)
    for (let n = 1; n <= 7; n++) expect((await h.request('POST', '/api/models/orders', { token, body: { n, region: n % 2 ? 'eu' : 'us' } })).status).toBe(201)

    const statements: string[] = []
    const query = h.db.query.bind(h.db)
    h.db.query = ((sql: string, params?: readonly unknown[]) => {
      statements.push(sql)
      return query(sql, params)
    }) as typeof h.db.query
    let found
    try {
      found = await h.request('POST', '/api/models/orders/find', { token, body: { filter: { region: 'eu' }, options: { sort: [{ n: 'desc' }], limit: 3 } } })
    } finally {
      h.db.query = query
    }
    expect(found.status, found.text).toBe(200)
    expect(found.body.data.map((row: { n: number }) => row.n)).toEqual([7, 5, 3])
    // The page and the event: one statement sent outside any transaction (no BEGIN, no COMMIT).
    const finds = statements.filter((sql) => sql.includes('audit_pending'))
    expect(finds).toHaveLength(1)
    expect(statements.some((sql) => sql === 'BEGIN')).toBe(false)

    const past = await h.request('POST', '/api/models/orders/find', { token, body: { filter: { region: 'eu' }, options: { limit: 3, offset: 10 } } })
    expect(past.body.meta).toEqual({ total: 4, count: 0, limit: 3, offset: 10 })

    const events = await h.request('GET', '/v1/spaces/default/audit?event=vault/read&limit=2', { token: h.adminToken })
    expect(events.body.events[1]).toMatchObject({ meta: { model: 'orders', op: 'find', ids: ['7', '5', '3'], count: 3, total: 4, acl: 'none' }, resources: [{ kind: 'vault_model', id: 'orders' }] })
    expect(events.body.events[0]).toMatchObject({ meta: { ids: [], count: 0, total: 4 } })
    expect(events.body.events[0].leafHash).toMatch(/^[0-9a-f]{64}$/)
    const report = await h.request('GET', '/v1/spaces/default/audit:verify', { token: h.adminToken })
    expect(report.body).toMatchObject({ ok: true, firstBroken: null })
  })
})
