import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApprovalsStore } from '../src/modules/approvals/approvals-store.js'
import { createHarness, STORE, type Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

// A vault find writes its audit event in the same statement as its page (issue 12): the event
// lists the page's keys in page order, its count and total, commits before the rows are returned,
// and its leaf hash — computed by the sequencer from what was stored — verifies. Under the `grants`
// ACL the same statement names the grants and customers behind the page (issue 13).

let h: Harness

/** Runs `call` with every statement the app sends recorded. */
async function traced<T>(call: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = []
  const query = h.db.query.bind(h.db)
  h.db.query = ((sql: string, params?: readonly unknown[]) => {
    statements.push(sql)
    return query(sql, params)
  }) as typeof h.db.query
  try {
    return { result: await call(), statements }
  } finally {
    h.db.query = query
  }
}

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

    const { result: found, statements } = await traced(() => h.request('POST', '/api/models/orders/find', { token, body: { filter: { region: 'eu' }, options: { sort: [{ n: 'desc' }], limit: 3 } } }))
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

  it('reads only the fields its caller is shown, in that one statement: a hidden field never leaves the database', async () => {
    const model = { name: 'letters', primaryKey: 'id', fields: { id: { type: 'string' }, region: { type: 'string', searchable: true }, body: { type: 'string' }, secret: { type: 'string' } } }
    expect((await h.request('POST', '/v1/spaces/default/vault/models', { token: h.adminToken, body: model })).status).toBe(201)
    const { token: writer } = await setUpVault(h, { letters: { actions: ['write'], acl: { source: 'none' } } }, null)
    const { token: reader } = await setUpVault(h, { letters: { actions: ['read'], readable: ['id', 'region', 'body'], acl: { source: 'none' } } }, null)
    for (const [id, region] of [['l1', 'eu'], ['l2', 'us']]) {
      expect((await h.request('POST', '/api/models/letters', { token: writer, body: { id, region, body: `dear ${id}`, secret: `pin ${id}` } })).status).toBe(201)
    }
    const find = (options: Record<string, unknown>) => traced(() => h.request('POST', '/api/models/letters/find', { token: reader, body: { filter: { region: 'eu' }, options } }))
    const pageOf = (statements: string[]) => statements.find((sql) => sql.includes('audit_pending'))!

    const shown = await find({})
    expect(shown.result.body.data).toEqual([{ id: 'l1', region: 'eu', body: 'dear l1', created_at: expect.any(String), updated_at: expect.any(String) }])
    expect(pageOf(shown.statements)).toContain('"body"')
    expect(pageOf(shown.statements)).not.toContain('"secret"')
    // options.fields narrows what is read as well as what is answered; the key is always both.
    const narrowed = await find({ fields: ['region'] })
    expect(narrowed.result.body.data).toEqual([{ id: 'l1', region: 'eu' }])
    expect(pageOf(narrowed.statements)).not.toContain('"body"')
    expect((await h.request('GET', '/v1/spaces/default/audit?event=vault/read&limit=1', { token: h.adminToken })).body.events[0].meta).toMatchObject({ ids: ['l1'], total: 1 })
  })

  it("under the grants ACL, names the grants and customers behind its page in the same one statement, as a read through a transaction does", async () => {
    const staff = await h.createUser('member')
    const reviewer = await h.createUser('reviewer')
    const customers = ['c_1', 'c_2', 'c_3'].map((id) => ({ kind: 'customer', id }))
    expect((await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources: customers } })).status).toBe(200)
    const model = { name: 'tickets', primaryKey: 'ticket_id', fields: { ticket_id: { type: 'string' }, customer_id: { type: 'string', searchable: true } } }
    expect((await h.request('POST', '/v1/spaces/default/vault/models', { token: h.adminToken, body: model })).status).toBe(201)
    const { token: vault } = await setUpVault(h, { tickets: { actions: ['read'], acl: { source: 'grants', resourceKind: 'customer', field: 'customer_id' } } }, null)
    const { token: backOffice } = await setUpVault(h, { tickets: { actions: ['write'], acl: { source: 'none' } } }, null)
    // Page order (by ticket id) meets c_2 first; grants are named in resource id order.
    for (const [id, customer] of [['t1', 'c_2'], ['t2', 'c_1'], ['t3', 'c_2'], ['t4', 'c_3']]) {
      expect((await h.request('POST', '/api/models/tickets', { token: backOffice, body: { ticket_id: id, customer_id: customer } })).status).toBe(201)
    }

    // c_1 through a reviewed petition; c_2 through three grants, of which the one ending last (the lower id of two
    // ending together) is named — the same grant the lookup in a transaction names.
    const petition = await h.request('POST', '/v1/spaces/default/petitions', {
      token: staff.token,
      body: { petitioners: [{ kind: 'user', id: staff.id, email: staff.email }], resources: [{ kind: 'customer', id: 'c_1' }], reason: 'escalation' },
    })
    expect(petition.status, petition.text).toBe(201)
    expect((await h.request('POST', `/v1/spaces/default/petitions/${petition.body.id}:review`, { token: reviewer.token, body: { decision: 'approve', durationSeconds: 3600, comment: 'ok' } })).body.state).toBe('granted')
    const listed = await h.request('GET', `/v1/spaces/default/grants?petitioner=${encodeURIComponent(staff.email)}&active=true&resourceId=c_1`, { token: h.adminToken })
    const c1 = listed.body.grants[0] as { id: string; petitionId: string; expiresAt: string }
    const now = h.clock()
    const [soon, later] = [1, 2].map((minutes) => new Date(now.getTime() + minutes * 60_000))
    const extra = (id: string, expiresAt: Date) => ({ id, petitionId: c1.petitionId, petitionerId: staff.id, petitionerEmail: staff.email, petitionerUserId: staff.id, resource: { kind: 'customer', id: 'c_2' }, startsAt: now, expiresAt, emergency: false })
    await createApprovalsStore().insertGrants(h.db, 'default', [extra('grt_find_c', soon!), extra('grt_find_b', later!), extra('grt_find_a', later!)])
    const c2 = { grantId: 'grt_find_a', petitionId: c1.petitionId, resourceId: 'c_2', expiresAt: later!.toISOString() }
    const c1Note = { grantId: c1.id, petitionId: c1.petitionId, resourceId: 'c_1', expiresAt: c1.expiresAt }

    const find = () => h.request('POST', '/api/models/tickets/find', { token: vault, headers: { 'x-client-auth': `Bearer ${staff.token}` }, body: { options: { sort: [{ ticket_id: 'asc' }] } } })
    const latestRead = async () => (await h.request('GET', '/v1/spaces/default/audit?event=vault/read&limit=1', { token: h.adminToken })).body.events[0]
    await find() // warms the caches: what is left is the find itself
    const { result: found, statements } = await traced(find)
    expect(found.status, found.text).toBe(200)
    expect(found.body.data.map((row: { ticket_id: string }) => row.ticket_id)).toEqual(['t1', 't2', 't3'])
    // One statement for the page, the grants behind it and the event; no transaction, no lookup of the grants apart.
    expect(statements.filter((sql) => sql.includes('audit_pending'))).toHaveLength(1)
    expect(statements.filter((sql) => /\bgrants\b/.test(sql) && !sql.includes('audit_pending'))).toEqual([])
    expect(statements).not.toContain('BEGIN')
    const event = await latestRead()
    expect(event.meta).toEqual({ model: 'tickets', op: 'find', count: 3, total: 3, ids: ['t1', 't2', 't3'], acl: 'grants', clientUser: { id: staff.id, email: staff.email }, grants: [c1Note, c2], customers: ['c_2', 'c_1'] })
    expect(event.resources).toEqual([{ kind: 'vault_model', id: 'tickets' }, { kind: 'customer', id: 'c_2' }, { kind: 'customer', id: 'c_1' }])

    // A get still names its grant in its transaction (grantsCovering): the same note, byte for byte.
    expect((await h.request('GET', '/api/models/tickets/t1', { token: vault, headers: { 'x-client-auth': `Bearer ${staff.token}` } })).status).toBe(200)
    const got = await latestRead()
    expect(got.meta.grants).toEqual([c2])
    expect(got.resources).toEqual([{ kind: 'vault_model', id: 'tickets' }, { kind: 'customer', id: 'c_2' }])

    // A client shown only the key still opens rows by customer: the page reads the grant field for the
    // event (never for the answer), and the event names the same customers.
    const { token: keyOnly } = await setUpVault(h, { tickets: { actions: ['read'], readable: ['ticket_id'], acl: { source: 'grants', resourceKind: 'customer', field: 'customer_id' } } }, null)
    const narrow = await h.request('POST', '/api/models/tickets/find', { token: keyOnly, headers: { 'x-client-auth': `Bearer ${staff.token}` }, body: { options: { sort: [{ ticket_id: 'asc' }] } } })
    expect(narrow.status, narrow.text).toBe(200)
    expect(narrow.body.data.map((row: Record<string, unknown>) => Object.keys(row).sort())).toEqual(Array(3).fill(['created_at', 'ticket_id', 'updated_at']))
    expect((await latestRead()).meta).toMatchObject({ ids: ['t1', 't2', 't3'], customers: ['c_2', 'c_1'], grants: [c1Note, c2] })

    // Once c_2's grants have expired, its rows are gone and the event names c_1 alone.
    h.advanceClock(3 * 60_000)
    try {
      const after = await find()
      expect(after.status, after.text).toBe(200)
      expect(after.body.data.map((row: { ticket_id: string }) => row.ticket_id)).toEqual(['t2'])
      expect((await latestRead()).meta).toMatchObject({ count: 1, total: 1, grants: [c1Note], customers: ['c_1'] })
    } finally {
      h.advanceClock(-3 * 60_000)
    }
    const report = await h.request('GET', '/v1/spaces/default/audit:verify', { token: h.adminToken })
    expect(report.body).toMatchObject({ ok: true, firstBroken: null })
  })
})
