import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setUpConsoleVault } from './console-vault-fixture.js'
import { createHarness, type Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

let h: Harness
let staff: { id: string; email: string; token: string }
let reviewer: { id: string; email: string; token: string }
let clientRowId: string

beforeAll(async () => {
  h = await createHarness()
  staff = await h.createUser('member')
  reviewer = await h.createUser('reviewer')
  ;({ clientRowId } = await setUpConsoleVault(h))
})
afterAll(() => h.close())

const find = (model: string, token: string, body: object = {}) => h.request('POST', `/v1/spaces/default/vault/console/models/${model}/find`, { token, body })

async function grantTo(person: { id: string; email: string; token: string }, customer: string) {
  const created = await h.request('POST', '/v1/spaces/default/petitions', {
    token: person.token,
    body: { petitioners: [{ kind: 'user', id: person.id, email: person.email }], resources: [{ kind: 'customer', id: customer }], reason: 'console test' },
  })
  expect(created.status, created.text).toBe(201)
  const reviewed = await h.request('POST', `/v1/spaces/default/petitions/${created.body.id}:review`, { token: reviewer.token, body: { decision: 'approve', durationSeconds: 3600, comment: 'ok' } })
  expect(reviewed.body.state).toBe('granted')
  const grants = await h.request('GET', `/v1/spaces/default/grants?petitioner=${encodeURIComponent(person.email)}&active=true&resourceId=${customer}`, { token: h.adminToken })
  return { petitionId: created.body.id as string, grantId: grants.body.grants[0].id as string, expiresAt: grants.body.grants[0].expiresAt as string }
}

describe("the console's vault explorer (through the designated client, as the signed-in person)", () => {
  it('lists the models that open by grants, with readable fields and masks, and never the client secret', async () => {
    const status = await h.request('GET', '/v1/spaces/default/vault/console', { token: staff.token })
    expect(status.status).toBe(200)
    expect(status.body.client).toMatchObject({ id: clientRowId })
    expect(JSON.stringify(status.body)).not.toMatch(/secret/i)
    expect(status.body.models.map((model: { name: string }) => model.name)).toEqual(['customers', 'tickets'])
    const tickets = status.body.models.find((model: { name: string }) => model.name === 'tickets')
    expect(tickets.fields.map((field: { name: string }) => field.name)).toEqual(['ticket_id', 'customer_id', 'subject'])
    expect(status.body.models[0].fields.find((field: { name: string }) => field.name === 'email').mask).toBe('email')
  })

  it('shows nothing before a grant, then exactly the granted customer\'s rows with their grant, masked and without hidden fields; nothing after revoke', async () => {
    const before = await find('tickets', staff.token)
    expect(before.status, before.text).toBe(200)
    expect(before.body.data).toEqual([])
    const { grantId, petitionId, expiresAt } = await grantTo(staff, 'c_42')
    const after = await find('tickets', staff.token)
    expect(after.body.data.map((row: { record: { ticket_id: string } }) => row.record.ticket_id)).toEqual(['t1', 't2'])
    for (const row of after.body.data) {
      expect(row.grant).toEqual({ grantId, petitionId, resourceId: 'c_42', expiresAt })
      expect(row.record).not.toHaveProperty('internal_note')
    }
    const customers = await find('customers', staff.token)
    expect(customers.body.data).toHaveLength(1)
    expect(customers.body.data[0].record.email).not.toBe('ops@umbrella.example')
    expect(customers.body.data[0].record.email).toMatch(/\*/)
    // The filter language is the data plane's: a filter for another customer finds nothing.
    expect((await find('tickets', staff.token, { filter: { customer_id: 'c_7' } })).body.data).toEqual([])
    // Another person with no grant sees nothing.
    expect((await find('tickets', reviewer.token)).body.data).toEqual([])

    // Audited exactly as a data-plane find: vault/read by the console's client, for this person, under this grant.
    const reads = await h.request('GET', '/v1/spaces/default/audit?event=vault/read&resourceKind=customer&resourceId=c_42', { token: h.adminToken })
    const read = reads.body.events.find((event: { meta: { model: string } }) => event.meta.model === 'tickets')
    expect(read.actor).toMatchObject({ kind: 'vault_client' })
    expect(read.meta.clientUser).toMatchObject({ id: staff.id, email: staff.email })
    expect(read.meta.grants).toEqual([expect.objectContaining({ grantId, petitionId, resourceId: 'c_42' })])

    const revoked = await h.request('POST', `/v1/spaces/default/grants/${grantId}:revoke`, { token: reviewer.token, body: { reason: 'escalation closed' } })
    expect(revoked.status, revoked.text).toBe(200)
    expect((await find('tickets', staff.token)).body.data).toEqual([])
    const revokeEvents = await h.request('GET', `/v1/spaces/default/audit?event=access/revoke&resourceKind=customer&resourceId=c_42`, { token: h.adminToken })
    expect(revokeEvents.body.events[0].meta).toMatchObject({ grantId, comment: 'escalation closed' })
  })

  it('keeps the per-row grants out of the /api data plane answer', async () => {
    const { token } = await setUpVault(h, { tickets: { actions: ['read'], acl: { source: 'grants', resourceKind: 'customer', field: 'customer_id' } } }, null)
    await grantTo(staff, 'c_42')
    const api = await h.request('POST', '/api/models/tickets/find', { token, headers: { 'x-client-auth': `Bearer ${staff.token}` }, body: {} })
    expect(api.status).toBe(200)
    expect(api.body.data.length).toBeGreaterThan(0)
    expect(Object.keys(api.body).sort()).toEqual(['data', 'meta'])
  })

  it('refuses a model whose rule does not open by grants, a service-account token, and a space with no designated client', async () => {
    const { clientId, policyId } = await setUpVault(h, { customers: { actions: ['read'], acl: { source: 'none' } } }, null)
    const clients = await h.request('GET', '/v1/spaces/default/vault/clients', { token: h.adminToken })
    const open = clients.body.clients.find((client: { clientId: string }) => client.clientId === clientId)
    expect(policyId).toBeTruthy()
    expect((await h.request('PUT', '/v1/spaces/default/vault/console', { token: h.adminToken, body: { clientId: open.id } })).status).toBe(200)
    const refused = await find('customers', staff.token)
    expect(refused.status).toBe(403)
    expect(refused.body.error.message).toContain("the console shows only models whose rows open by grants")
    expect((await h.request('GET', '/v1/spaces/default/vault/console', { token: staff.token })).body.models).toEqual([])

    expect((await h.request('PUT', '/v1/spaces/default/vault/console', { token: h.adminToken, body: { clientId: clientRowId } })).status).toBe(200)
    const asService = await find('tickets', h.adminToken)
    expect(asService.status).toBe(403)
    expect(asService.body.error.message).toContain('service-account token')
    // Only admins designate.
    expect((await h.request('PUT', '/v1/spaces/default/vault/console', { token: staff.token, body: { clientId: null } })).status).toBe(403)
    expect((await h.request('PUT', '/v1/spaces/default/vault/console', { token: h.adminToken, body: { clientId: 'vcl_nope' } })).status).toBe(404)

    expect((await h.request('PUT', '/v1/spaces/default/vault/console', { token: h.adminToken, body: { clientId: null } })).status).toBe(200)
    const none = await find('tickets', staff.token)
    expect(none.status).toBe(403)
    expect(none.body.error.message).toContain('no vault client is designated for the console')
    expect((await h.request('PUT', '/v1/spaces/default/vault/console', { token: h.adminToken, body: { clientId: clientRowId } })).status).toBe(200)
  })
})
