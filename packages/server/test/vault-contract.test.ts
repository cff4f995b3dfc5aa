import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'
import { EMPLOYEES, setUpVault } from './vault-harness.js'

/** Issue 11, the vault contract: no silent data loss on a model change; policies checked when saved. */

let h: Harness
let token: string
beforeAll(async () => {
  h = await createHarness()
  ;({ token } = await setUpVault(h, { employees: { actions: ['read', 'write'], acl: { source: 'none' } } }))
  const created = await h.request('POST', '/api/models/employees', { token, body: { employee_id: 'e1', first_name: 'John', last_name: 'Smith', deals_ratio: 6, yearly_spending: 90000 } })
  expect(created.status, created.text).toBe(201)
}, 60_000)
afterAll(() => h.close())

const admin = (method: string, url: string, body?: unknown) => h.request(method, `/v1/spaces/default/vault${url}`, { token: h.adminToken, body })
const { last_name: _dropped, ...withoutLastName } = EMPLOYEES.fields
const withoutLastNameBody = { primaryKey: 'employee_id', fields: withoutLastName }
const record = async () => (await h.request('GET', '/api/models/employees/e1', { token })).body as Record<string, unknown>
const policy = (rules: Record<string, unknown>, name = `p-${Math.random().toString(36).slice(2)}`) => admin('POST', '/policies', { name, rules })

describe('a model change that drops fields', () => {
  it('is a 409 naming every field it would drop, and changes nothing', async () => {
    const fields = { employee_id: { type: 'string' }, first_name: { type: 'string' }, deals_ratio: { type: 'decimal', searchable: true } }
    const response = await admin('PUT', '/models/employees', { primaryKey: 'employee_id', fields })
    expect(response.status, response.text).toBe(409)
    expect(response.body.error.code).toBe('conflict')
    expect(response.body.error.details.drop).toEqual(['last_name', 'yearly_spending'])
    expect(response.body.error.message).toContain(`"drop": ["last_name", "yearly_spending"]`)
    expect(await record()).toMatchObject({ last_name: 'Smith', yearly_spending: 90000 })
    expect(Object.keys((await admin('GET', '/models/employees')).body.fields)).toContain('last_name')
  })

  it('a dry run answers the exact changes and applies none of them', async () => {
    const before = await admin('GET', '/models/employees')
    const plan = await h.request('PUT', '/v1/spaces/default/vault/models/employees?dryRun=true', {
      token: h.adminToken,
      body: { primaryKey: 'employee_id', fields: { ...withoutLastName, deals_ratio: { type: 'string' }, yearly_spending: { type: 'integer' }, email: { type: 'string', searchable: true } } },
    })
    expect(plan.status, plan.text).toBe(200)
    expect(plan.body).toEqual({
      changes: [
        { op: 'drop', field: 'last_name', from: 'string', lossy: true },
        { op: 'widen', field: 'deals_ratio', from: 'decimal', to: 'string', lossy: false },
        { op: 'unindex', field: 'deals_ratio', lossy: false },
        { op: 'unindex', field: 'yearly_spending', lossy: false },
        { op: 'add', field: 'email', to: 'string', required: false, lossy: false },
        { op: 'index', field: 'email', lossy: false },
      ],
      wouldDrop: ['last_name'],
      policies: [],
    })
    expect((await admin('GET', '/models/employees')).body).toEqual(before.body)
    expect(await record()).toMatchObject({ last_name: 'Smith', deals_ratio: 6 })
  })

  it('a dry run of a change that cannot be made is the same 409 as the change', async () => {
    const narrowing = await h.request('PUT', '/v1/spaces/default/vault/models/employees?dryRun=true', { token: h.adminToken, body: { primaryKey: 'employee_id', fields: { ...EMPLOYEES.fields, deals_ratio: { type: 'boolean' } } } })
    expect(narrowing.status).toBe(409)
    expect(narrowing.body.error.message).toBe("changing field 'deals_ratio' from decimal to boolean could lose data; add a new field and copy the values instead")
  })

  it('a name in "drop" that the change does not drop is a 400 (the caller meant something else)', async () => {
    const stray = await admin('PUT', '/models/employees', { ...withoutLastNameBody, drop: ['last_name', 'frist_name'] })
    expect(stray.status, stray.text).toBe(400)
    expect(stray.body.error.message).toBe("body.drop: 'frist_name' is not dropped by this change (it drops 'last_name')")
    expect(await record()).toMatchObject({ last_name: 'Smith' })
  })

  it('policies naming a dropped field are reported, and the drop waits until they are changed', async () => {
    const reader = await policy({ employees: { actions: ['read'], readable: ['first_name', 'last_name'], masked: { last_name: 'last4' }, acl: { source: 'none' } } }, 'support-readers')
    expect(reader.status, reader.text).toBe(201)
    const expected = [{ policyId: reader.body.id, policyName: 'support-readers', field: 'last_name', places: ['readable', 'masked'] }]

    const unconfirmed = await admin('PUT', '/models/employees', withoutLastNameBody)
    expect(unconfirmed.status).toBe(409)
    expect(unconfirmed.body.error.details).toEqual({ drop: ['last_name'], policies: expected })
    const plan = await h.request('PUT', '/v1/spaces/default/vault/models/employees?dryRun=true', { token: h.adminToken, body: withoutLastNameBody })
    expect(plan.body.policies).toEqual(expected)

    const confirmed = await admin('PUT', '/models/employees', { ...withoutLastNameBody, drop: ['last_name'] })
    expect(confirmed.status, confirmed.text).toBe(409)
    expect(confirmed.body.error.message).toBe("vault access policies still name fields this change drops: 'support-readers' (readable: 'last_name', masked: 'last_name'); change those policies first")
    expect(await record()).toMatchObject({ last_name: 'Smith' })

    const changed = await admin('PUT', `/policies/${reader.body.id}`, { name: 'support-readers', rules: { employees: { actions: ['read'], readable: ['first_name'], acl: { source: 'none' } } } })
    expect(changed.status, changed.text).toBe(200)
    const applied = await admin('PUT', '/models/employees', { ...withoutLastNameBody, drop: ['last_name'] })
    expect(applied.status, applied.text).toBe(200)
    expect(Object.keys(applied.body.fields)).not.toContain('last_name')
    expect(await record()).not.toHaveProperty('last_name')
    const events = await h.request('GET', '/v1/spaces/default/audit?event=vault/model_update&limit=5', { token: h.adminToken })
    expect(events.body.events[0].meta).toMatchObject({ dropped: ['last_name'], changes: [{ op: 'drop', field: 'last_name' }] })
  })
})

describe('access policies are checked when saved', () => {
  it.each([
    ['a model that does not exist', { employes: { actions: ['read'], acl: { source: 'none' } } }, "body.rules.employes: model 'employes' does not exist; did you mean 'employees'?; create it first"],
    ['a readable typo', { employees: { actions: ['read'], readable: ['employee_id', 'frist_name'], acl: { source: 'none' } } }, "body.rules.employees.readable.1: model 'employees' has no field 'frist_name'; did you mean 'first_name'?"],
    ['a writable typo', { employees: { actions: ['write'], writable: ['yearly_spendng'], acl: { source: 'none' } } }, "body.rules.employees.writable.0: model 'employees' has no field 'yearly_spendng'; did you mean 'yearly_spending'?"],
    ['a filterable unknown', { employees: { actions: ['read'], filterable: ['salary'], acl: { source: 'none' } } }, "body.rules.employees.filterable.0: model 'employees' has no field 'salary'"],
    ['a masked unknown', { employees: { actions: ['read'], masked: { frist_name: 'full' }, acl: { source: 'none' } } }, "body.rules.employees.masked.frist_name: model 'employees' has no field 'frist_name'; did you mean 'first_name'?"],
    ['a written system field', { employees: { actions: ['write'], writable: ['created_at'], acl: { source: 'none' } } }, "body.rules.employees.writable.0: model 'employees' has no field 'created_at'"],
    ['a row filter on an unknown field', { employees: { actions: ['read'], rowFilter: { region: 'eu' }, acl: { source: 'none' } } }, "body.rules.employees.rowFilter.region: unknown field 'region'"],
    ['a row filter with a wrong type', { employees: { actions: ['read'], rowFilter: { yearly_spending: { $lte: 'lots' } }, acl: { source: 'none' } } }, 'body.rules.employees.rowFilter.yearly_spending.$lte: expected an integer'],
    ['a row filter with an unknown operator', { employees: { actions: ['read'], rowFilter: { first_name: { $regex: 'J' } } , acl: { source: 'none' } } }, "body.rules.employees.rowFilter.first_name.$regex: unknown operator '$regex'"],
    ['a grants field named constructor', { employees: { actions: ['read'], acl: { source: 'grants', resourceKind: 'customer', field: 'constructor' } } }, "body.rules.employees.acl.field: model 'employees' has no field 'constructor'"],
    ['a grants field the model lacks', { employees: { actions: ['read'], acl: { source: 'grants', resourceKind: 'customer', field: 'customer_id' } } }, "body.rules.employees.acl.field: model 'employees' has no field 'customer_id'"],
  ])('%s is a 400 naming it', async (_name, rules, message) => {
    const response = await policy(rules)
    expect(response.status, response.text).toBe(400)
    expect(response.body.error).toMatchObject({ code: 'validation_failed', message })
  })

  it('a replace is checked the same way, and nothing is saved', async () => {
    const saved = await policy({ employees: { actions: ['read'], readable: ['first_name', 'created_at'], filterable: ['yearly_spending'], rowFilter: { $or: [{ deals_ratio: { $gt: 1 } }, { first_name: 'Jane' }] }, acl: { source: 'none' } } }, 'fine')
    expect(saved.status, saved.text).toBe(201)
    const replaced = await admin('PUT', `/policies/${saved.body.id}`, { name: 'fine', rules: { employees: { actions: ['read'], readable: ['frist_name'], acl: { source: 'none' } } } })
    expect(replaced.status).toBe(400)
    expect((await admin('GET', `/policies/${saved.body.id}`)).body.rules.employees.readable).toEqual(['first_name', 'created_at'])
  })
})

describe('a policy saved before these checks', () => {
  it("a grants ACL on 'constructor' is refused with the envelope on every call, never a 500", async () => {
    const saved = await policy({ employees: { actions: ['read', 'write'], acl: { source: 'grants', resourceKind: 'customer', field: 'employee_id' } } }, 'legacy')
    expect(saved.status, saved.text).toBe(201)
    // As an older server could have stored it: the field is not one of the model's.
    await h.db.query(`UPDATE vault_access_policies SET rules = jsonb_set(rules, '{employees,acl,field}', '"constructor"') WHERE id = $1`, [saved.body.id])
    const client = await admin('POST', '/clients', { name: 'legacy', policyId: saved.body.id })
    const issued = await h.request('POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id: client.body.clientId, client_secret: client.body.clientSecret } })
    const staff = await h.createUser('member')
    const headers = { 'x-client-auth': `Bearer ${staff.token}` }
    for (const [method, url, body] of [['POST', '/api/models/employees/find', {}], ['GET', '/api/models/employees/e1', undefined]] as const) {
      const response = await h.request(method, url, { token: issued.body.access_token, headers, body })
      expect(response.status, `${method} ${url} ${response.text}`).toBe(403)
      expect(response.body.error.message).toContain("by field 'constructor', which the model does not have")
    }
  })
})
