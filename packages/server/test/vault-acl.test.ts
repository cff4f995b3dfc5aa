import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'
import { setUpVault, startFilterEndpoint, type FilterEndpoint } from './vault-harness.js'

let h: Harness
let endpoint: FilterEndpoint
let token: string
let deadToken: string
const auth = { 'x-client-auth': 'Bearer user-token' }

beforeAll(async () => {
  h = await createHarness({ vault: { maxAclCandidates: 2000 } })
  endpoint = await startFilterEndpoint()
  endpoint.answer = () => ({ status: 200, body: JSON.stringify({ employee_id: '*' }) })
  ;({ token } = await setUpVault(h, { employees: { actions: ['read', 'write', 'delete'], acl: { source: 'external', url: endpoint.url, timeoutMs: 300 } } }))
  const dead = await startFilterEndpoint()
  await dead.close() // a port where nothing listens any more: connection refused
  ;({ token: deadToken } = await setUpVault(h, { employees: { actions: ['read', 'write'], acl: { source: 'external', url: dead.url, timeoutMs: 300 } } }))
  for (const id of ['e1', 'e2', 'e3']) {
    const created = await h.request('POST', '/api/models/employees', { token, headers: auth, body: { employee_id: id, first_name: id, deals_ratio: 5, yearly_spending: 1 } })
    expect(created.status, created.text).toBe(201)
  }
})
afterAll(async () => {
  await endpoint.close()
  await h.close()
})

const count = async () => (await h.db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM vault."${(await h.db.query<{ t: string }>("SELECT table_name AS t FROM vault_models WHERE name = 'employees'")).rows[0]!.t}"`)).rows[0]!.n

const FAULTS: Array<[string, { status: number; body: string; delayMs?: number }, number, string]> = [
  ['timeout', { status: 200, body: '{"employee_id":"*"}', delayMs: 1000 }, 504, 'acl_timeout'],
  ['non-2xx', { status: 500, body: '{"employee_id":"*"}' }, 502, 'acl_error_status'],
  ['non-JSON', { status: 200, body: 'employee_id: *' }, 502, 'acl_invalid_response'],
  ['outside the schema: a number', { status: 200, body: '{"employee_id": 5}' }, 502, 'acl_invalid_response'],
  ['outside the schema: two keys', { status: 200, body: '{"employee_id": ["e1"], "other": ["e2"]}' }, 502, 'acl_invalid_response'],
  ['outside the schema: ids not strings', { status: 200, body: '{"employee_id": [1, 2]}' }, 502, 'acl_invalid_response'],
  ['the wrong key', { status: 200, body: '{"id": "*"}' }, 502, 'acl_invalid_response'],
]

describe('the external ACL fails closed', () => {
  for (const [fault, reply, status, code] of FAULTS) {
    it(`${fault}: refused with ${code}, no rows, no writes, audited`, async () => {
      endpoint.answer = () => reply
      const before = await count()
      const find = await h.request('POST', '/api/models/employees/find', { token, headers: auth, body: {} })
      expect(find.status).toBe(status)
      expect(find.body.error.code).toBe(code)
      expect(find.body).not.toHaveProperty('data')
      const write = await h.request('POST', '/api/models/employees', { token, headers: auth, body: { employee_id: `new-${code}-${status}`, first_name: 'x' } })
      expect(write.status).toBe(status)
      const remove = await h.request('DELETE', '/api/models/employees/e1', { token, headers: auth })
      expect(remove.status).toBe(status)
      expect(await count()).toBe(before)
      const refused = await h.request('GET', '/v1/spaces/default/audit?event=vault/refused&limit=5', { token: h.adminToken })
      expect(refused.body.events[0].meta.code).toBe(code)
    })
  }

  it('connection refused: acl_unreachable', async () => {
    const find = await h.request('POST', '/api/models/employees/find', { token: deadToken, headers: auth, body: {} })
    expect(find.status).toBe(502)
    expect(find.body.error.code).toBe('acl_unreachable')
  })

  it('a missing x-client-auth: acl_client_auth_missing, and the endpoint is not called', async () => {
    endpoint.answer = () => ({ status: 200, body: '{"employee_id":"*"}' })
    endpoint.calls.length = 0
    const find = await h.request('POST', '/api/models/employees/find', { token, body: {} })
    expect(find.status).toBe(401)
    expect(find.body.error.code).toBe('acl_client_auth_missing')
    expect(endpoint.calls).toHaveLength(0)
  })

  it('narrows, never widens: ids in the answer that were not asked about are ignored', async () => {
    endpoint.answer = () => ({ status: 200, body: JSON.stringify({ employee_id: ['e2', 'someone-else', 'e9'] }) })
    const find = await h.request('POST', '/api/models/employees/find', { token, headers: auth, body: { filter: { employee_id: { $in: ['e1', 'e2'] } } } })
    expect(find.status).toBe(200)
    expect(find.body.data.map((record: { employee_id: string }) => record.employee_id)).toEqual(['e2'])
    expect(find.body.meta.total).toBe(1)
  })

  it('sends large candidate sets in chunks, and refuses a find above the candidate bound', async () => {
    endpoint.answer = (body) => ({ status: 200, body: JSON.stringify({ employee_id: body.employee_id }) })
    const records = Array.from({ length: 100 }, (_, i) => ({ employee_id: `bulk-${String(i).padStart(4, '0')}`, first_name: 'b' }))
    for (let i = 0; i < 2500; i += 100) {
      const batch = records.map((record) => ({ ...record, employee_id: `${record.employee_id}-${i}` }))
      expect((await h.request('POST', '/api/models/employees/batch', { token, headers: auth, body: { records: batch } })).status).toBe(201)
    }
    endpoint.calls.length = 0
    const narrower = { first_name: 'b', employee_id: { $lt: 'bulk-0060' } } // 60 of each 100: 1,500 candidates
    const find = await h.request('POST', '/api/models/employees/find', { token, headers: auth, body: { filter: narrower, options: { limit: 10 } } })
    expect(find.status, find.text).toBe(200)
    expect(find.body.meta.total).toBe(1500)
    expect(find.body.data).toHaveLength(10)
    // Both calls in flight at once: their order of arrival is not fixed.
    expect(endpoint.calls.map((call) => JSON.parse(call.body).employee_id.length).sort()).toEqual([1000, 500])
    expect(new Set(endpoint.calls.flatMap((call) => JSON.parse(call.body).employee_id)).size).toBe(1500)

    // In flight together: the second call arrives while the first is still unanswered (each is
    // answered after a second; a client whose ACL waits five).
    const { token: patient } = await setUpVault(h, { employees: { actions: ['read'], acl: { source: 'external', url: endpoint.url, timeoutMs: 5000 } } }, null)
    const arrivals: number[] = []
    endpoint.answer = (body) => {
      arrivals.push(Date.now())
      return { status: 200, body: JSON.stringify({ employee_id: body.employee_id }), delayMs: 1000 }
    }
    expect((await h.request('POST', '/api/models/employees/find', { token: patient, headers: auth, body: { filter: narrower, options: { limit: 10 } } })).status).toBe(200)
    expect(arrivals).toHaveLength(2)
    expect(arrivals[1]! - arrivals[0]!).toBeLessThan(1000)
    // And fail closed together: one refused chunk refuses the find.
    endpoint.answer = (body) => ((body.employee_id as string[]).length === 500 ? { status: 500, body: '{}' } : { status: 200, body: '{"employee_id":"*"}' })
    const halfRefused = await h.request('POST', '/api/models/employees/find', { token, headers: auth, body: { filter: narrower, options: { limit: 10 } } })
    expect(halfRefused.status).toBe(502)
    expect(halfRefused.body.error.code).toBe('acl_error_status')
    endpoint.answer = (body) => ({ status: 200, body: JSON.stringify({ employee_id: body.employee_id }) })
    endpoint.calls.length = 0
    const tooBroad = await h.request('POST', '/api/models/employees/find', { token, headers: auth, body: { filter: { first_name: 'b' } } })
    expect(tooBroad.status).toBe(400)
    expect(tooBroad.body.error.message).toContain('narrow the filter')
    expect(endpoint.calls).toHaveLength(0)
  })

  it('opens exactly the allowed rows whatever the key: an integer key, and text keys with quotes, commas and braces', async () => {
    const allow = (key: string, ids: unknown[]) => (body: Record<string, unknown>) => ({ status: 200, body: JSON.stringify({ [key]: (body[key] as string[]).filter((id) => ids.map(String).includes(id)) }) })
    const badges = { name: 'badges', primaryKey: 'badge_no', fields: { badge_no: { type: 'integer' }, holder: { type: 'string', searchable: true } } }
    const { token: badgeToken } = await setUpVault(h, { badges: { actions: ['read', 'write'], acl: { source: 'external', url: endpoint.url, timeoutMs: 300 } } }, badges)
    endpoint.answer = (body) => ({ status: 200, body: JSON.stringify({ badge_no: body.badge_no }) })
    for (const badge_no of [7, 42, 1_000_000_007]) {
      expect((await h.request('POST', '/api/models/badges', { token: badgeToken, headers: auth, body: { badge_no, holder: 'h' } })).status).toBe(201)
    }
    endpoint.answer = allow('badge_no', [42, 1_000_000_007])
    const found = await h.request('POST', '/api/models/badges/find', { token: badgeToken, headers: auth, body: { filter: { holder: 'h' } } })
    expect(found.status, found.text).toBe(200)
    expect(found.body.data.map((record: { badge_no: number }) => record.badge_no).sort((a: number, b: number) => a - b)).toEqual([42, 1_000_000_007])
    expect(found.body.meta.total).toBe(2)

    endpoint.answer = () => ({ status: 200, body: '{"employee_id":"*"}' })
    const awkward = ['q"uote', 'com,ma', '{brace}', 'back\\slash', 'NULL']
    for (const employee_id of awkward) {
      expect((await h.request('POST', '/api/models/employees', { token, headers: auth, body: { employee_id, first_name: 'awkward' } })).status).toBe(201)
    }
    endpoint.answer = allow('employee_id', awkward.slice(0, 4))
    const names = await h.request('POST', '/api/models/employees/find', { token, headers: auth, body: { filter: { first_name: 'awkward' } } })
    expect(names.status, names.text).toBe(200)
    expect(names.body.data.map((record: { employee_id: string }) => record.employee_id).sort()).toEqual(awkward.slice(0, 4).sort())
  })
})
