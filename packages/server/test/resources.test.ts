import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

const upload = (resources: unknown[]) => h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources } })

describe('resources', () => {
  it('upsert in bulk, page without gaps, filter by kind and labels, get and delete', async () => {
    const resources = Array.from({ length: 7 }, (_, i) => ({ kind: 'customer', id: `c_${i}`, displayName: `C${i}`, labels: { plan: i % 2 ? 'pro' : 'free', region: 'eu' } }))
    expect((await upload(resources)).body).toEqual({ received: 7, changed: 7 })
    expect((await upload([{ ...resources[0], displayName: 'Renamed' }, resources[1]])).body).toEqual({ received: 2, changed: 1 })
    await upload([{ kind: 'ticket', id: 't_1' }])

    const ids: string[] = []
    let cursor: string | null = null
    do {
      const page: { body: { resources: Array<{ id: string }>; nextCursor: string | null } } = await h.request(
        'GET',
        `/v1/spaces/default/resources?kind=customer&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        { token: h.adminToken },
      )
      ids.push(...page.body.resources.map((resource) => resource.id))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(ids).toEqual(resources.map((resource) => resource.id))

    const pro = await h.request('GET', '/v1/spaces/default/resources?label=plan:pro&label=region:eu', { token: h.adminToken })
    expect(pro.body.resources.map((resource: { id: string }) => resource.id)).toEqual(['c_1', 'c_3', 'c_5'])
    expect((await h.request('GET', '/v1/spaces/default/resources/customer/c_0', { token: h.adminToken })).body.displayName).toBe('Renamed')
    expect((await h.request('DELETE', '/v1/spaces/default/resources/customer/c_0', { token: h.adminToken })).status).toBe(204)
    expect((await h.request('GET', '/v1/spaces/default/resources/customer/c_0', { token: h.adminToken })).status).toBe(404)
    expect((await h.request('GET', '/v1/spaces/default/resources?cursor=nonsense', { token: h.adminToken })).status).toBe(400)
  })

  it('a batch with a duplicate or an invalid item changes nothing and names the item', async () => {
    const duplicate = await upload([{ kind: 'account', id: 'a_1' }, { kind: 'account', id: 'a_2' }, { kind: 'account', id: 'a_1' }])
    expect(duplicate.status).toBe(400)
    expect(duplicate.body.error.message).toBe('body.resources.2: duplicates body.resources.0 (account:a_1)')
    const invalid = await upload([{ kind: 'account', id: 'a_3' }, { kind: 'account', id: 'a_4', labels: { 'bad key!': 'x' } }])
    expect(invalid.status).toBe(400)
    expect(invalid.body.error.message).toMatch(/^body\.resources\.1\.labels/)
    const { rows } = await h.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM resources WHERE kind = 'account'")
    expect(rows[0]!.n).toBe(0)
    const tooMany = await upload(Array.from({ length: 1001 }, (_, i) => ({ kind: 'account', id: `a_${i}` })))
    expect(tooMany.status).toBe(400)
  })

  it('an unchanged repeat records nothing in the audit log', async () => {
    await upload([{ kind: 'region', id: 'eu' }])
    const before = (await h.request('GET', '/v1/spaces/default/audit?event=resource/bulk_update&limit=500', { token: h.adminToken })).body.events.length
    expect((await upload([{ kind: 'region', id: 'eu' }])).body.changed).toBe(0)
    const after = (await h.request('GET', '/v1/spaces/default/audit?event=resource/bulk_update&limit=500', { token: h.adminToken })).body.events.length
    expect(after).toBe(before)
  })

  it('COPY carries any text a resource may hold: tabs, newlines, backslashes, \\N, Unicode', async () => {
    const displayName = 'a\tb\nc\rd\\e \\N \\. é 😀 \u2028'
    const labels = { note: 'x\ty\\N\n', 'k.a/b': '\\' }
    expect((await upload([{ kind: 'odd', id: 'o\\1 é', displayName, labels }])).body).toEqual({ received: 1, changed: 1 })
    const got = await h.request('GET', `/v1/spaces/default/resources/odd/${encodeURIComponent('o\\1 é')}`, { token: h.adminToken })
    expect(got.body).toMatchObject({ kind: 'odd', id: 'o\\1 é', displayName, labels })
    expect((await upload([{ kind: 'odd', id: 'o\\1 é', displayName, labels }])).body).toEqual({ received: 1, changed: 0 })
  })

  it('one audit event per batch names its counts: created, updated, unchanged', async () => {
    const batch = Array.from({ length: 30 }, (_, i) => ({ kind: 'counted', id: `k_${String(i).padStart(2, '0')}`, displayName: 'v1' }))
    await upload(batch.slice(0, 20))
    const second = await upload(batch.map((resource, i) => (i < 5 ? { ...resource, displayName: 'v2' } : resource)))
    expect(second.body).toEqual({ received: 30, changed: 15 })
    const { events } = (await h.request('GET', '/v1/spaces/default/audit?event=resource/bulk_update&limit=500', { token: h.adminToken })).body
    const last = events.find((event: { meta: { received: number } }) => event.meta.received === 30)
    expect(last.meta).toEqual({ received: 30, changed: 15, created: 10, updated: 5, unchanged: 15, truncated: true })
    expect(last.resources).toHaveLength(20)
  })

  it('concurrent batches over the same rows, in opposite orders, all commit and agree', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ kind: 'raced', id: `r_${String(i).padStart(3, '0')}`, displayName: 'same' }))
    const results = await Promise.all([rows, [...rows].reverse(), rows.slice(50), [...rows.slice(0, 150)].reverse()].map((batch) => upload(batch)))
    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200])
    // Every row was created by exactly one of them; the others found it unchanged.
    expect(results.reduce((sum, result) => sum + result.body.changed, 0)).toBe(200)
    const { rows: stored } = await h.db.query<{ n: number }>("SELECT count(*)::int8 AS n FROM resources WHERE kind = 'raced'")
    expect(stored[0]!.n).toBe(200)
  })
})
