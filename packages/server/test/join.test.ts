import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

let h: Harness
let vault: string // the support portal's vault token
let staff: { id: string; email: string; token: string }
let reviewer: { id: string; email: string; token: string }

beforeAll(async () => {
  h = await createHarness()
  staff = await h.createUser('member')
  reviewer = await h.createUser('reviewer')
  await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources: [{ kind: 'customer', id: 'c_42' }, { kind: 'customer', id: 'c_7' }] } })
  await h.request('POST', '/v1/spaces/default/vault/models', { token: h.adminToken, body: { name: 'customers', primaryKey: 'customer_id', fields: { customer_id: { type: 'string' }, name: { type: 'string' } } } })
  await h.request('POST', '/v1/spaces/default/vault/models', {
    token: h.adminToken,
    body: { name: 'tickets', primaryKey: 'ticket_id', fields: { ticket_id: { type: 'string' }, customer_id: { type: 'string', searchable: true }, subject: { type: 'string' } } },
  })
  const byGrant = (field: string) => ({ source: 'grants', resourceKind: 'customer', field })
  ;({ token: vault } = await setUpVault(h, { customers: { actions: ['read'], acl: byGrant('customer_id') }, tickets: { actions: ['read', 'write', 'delete'], acl: byGrant('customer_id') } }, null))
  // Seed through an unrestricted client, as the application's back office would.
  const { token: backOffice } = await setUpVault(h, { customers: { actions: ['write'], acl: { source: 'none' } }, tickets: { actions: ['write'], acl: { source: 'none' } } }, null)
  for (const [id, name] of [['c_42', 'Umbrella'], ['c_7', 'Globex']]) await h.request('POST', '/api/models/customers', { token: backOffice, body: { customer_id: id, name } })
  for (const [id, customer] of [['t1', 'c_42'], ['t2', 'c_42'], ['t3', 'c_7']]) await h.request('POST', '/api/models/tickets', { token: backOffice, body: { ticket_id: id, customer_id: customer, subject: `about ${customer}` } })
})
afterAll(() => h.close())

const as = (userToken: string) => ({ 'x-client-auth': `Bearer ${userToken}` })
const find = async (model: string, userToken: string, filter: object = {}) => {
  const response = await h.request('POST', `/api/models/${model}/find`, { token: vault, headers: as(userToken), body: { filter } })
  expect(response.status, response.text).toBe(200)
  return (response.body.data as Array<Record<string, string>>).map((record) => record[model === 'tickets' ? 'ticket_id' : 'customer_id'])
}

async function approveAccess(customer: string, durationSeconds = 3600) {
  const asked = await h.request('POST', '/v1/spaces/default/approvals', {
    token: staff.token,
    body: { petitioners: [{ kind: 'user', id: staff.id, email: staff.email }], resources: [{ kind: 'customer', id: customer }], reason: 'ticket escalation' },
  })
  const petitionId = asked.body.petition.id
  await h.request('POST', `/v1/spaces/default/petitions/${petitionId}:review`, { token: reviewer.token, body: { decision: 'approve', durationSeconds, comment: 'ok for the escalation' } })
  const granted = await h.request('POST', '/v1/spaces/default/approvals', { token: staff.token, body: { petitioners: [{ kind: 'user', id: staff.id, email: staff.email }], resources: [{ kind: 'customer', id: customer }] } })
  expect(granted.body.status).toBe('granted')
  return { petitionId, grantId: granted.body.grants[0].id as string }
}

describe('an approved request opens exactly that customer', () => {
  it('no rows before approval; after it, that customer\'s rows across two models and never another\'s; none after revoke', async () => {
    expect(await find('tickets', staff.token)).toEqual([])
    expect(await find('customers', staff.token)).toEqual([])
    const { petitionId, grantId } = await approveAccess('c_42')
    expect(await find('tickets', staff.token)).toEqual(['t1', 't2'])
    expect(await find('customers', staff.token)).toEqual(['c_42'])
    expect(await find('tickets', staff.token, { customer_id: 'c_7' })).toEqual([])
    expect((await h.request('GET', '/api/models/tickets/t3', { token: vault, headers: as(staff.token) })).status).toBe(404)
    expect(await find('tickets', reviewer.token)).toEqual([]) // the grant is the staff member's, nobody else's

    // The audit trail: from "who read c_42's tickets" to "who approved it, when and why".
    const reads = await h.request('GET', '/v1/spaces/default/audit?event=vault/read&resourceKind=customer&resourceId=c_42', { token: h.adminToken })
    const read = reads.body.events.find((event: { meta: { model: string } }) => event.meta.model === 'tickets')
    expect(read.meta.clientUser.email).toBe(staff.email)
    expect(read.meta.grants).toEqual([expect.objectContaining({ grantId, petitionId, resourceId: 'c_42' })])
    const petition = await h.request('GET', `/v1/spaces/default/petitions/${petitionId}`, { token: h.adminToken })
    expect(petition.body).toMatchObject({ decidedBy: { id: reviewer.id }, decisionComment: 'ok for the escalation', reason: 'ticket escalation' })

    await h.request('POST', `/v1/spaces/default/grants/${grantId}:revoke`, { token: reviewer.token })
    expect(await find('tickets', staff.token)).toEqual([])
  })

  it('writes stay within granted customers', async () => {
    const { grantId } = await approveAccess('c_42')
    const write = (method: string, url: string, body?: object) => h.request(method, url, { token: vault, headers: as(staff.token), body })
    expect((await write('POST', '/api/models/tickets', { ticket_id: 't4', customer_id: 'c_42', subject: 'new' })).status).toBe(201)
    const elsewhere = await write('POST', '/api/models/tickets', { ticket_id: 't5', customer_id: 'c_7', subject: 'sneaky' })
    expect(elsewhere.status).toBe(403)
    expect(elsewhere.body.error.message).toContain("no active grant on customer 'c_7'")
    expect((await write('PATCH', '/api/models/tickets/t4', { customer_id: 'c_7' })).status).toBe(403)
    expect((await write('PATCH', '/api/models/tickets/t3', { subject: 'x' })).status).toBe(404)
    expect((await write('DELETE', '/api/models/tickets/t3')).status).toBe(404)
    expect((await write('DELETE', '/api/models/tickets/t4')).status).toBe(204)
    await h.request('POST', `/v1/spaces/default/grants/${grantId}:revoke`, { token: reviewer.token })
  })

  it('stops at the expiry instant (the grant set to end two seconds ahead, real time)', async () => {
    const { grantId } = await approveAccess('c_42')
    await h.db.query(`UPDATE grants SET expires_at = now() + interval '2 seconds' WHERE id = $1`, [grantId])
    expect(await find('tickets', staff.token)).toEqual(['t1', 't2'])
    await new Promise((resolve) => setTimeout(resolve, 2200))
    expect(await find('tickets', staff.token)).toEqual([])
  })
})

describe('the person in x-client-auth', () => {
  it('is refused, with distinct messages, for another space, an expired or revoked token, a service account, or none', async () => {
    const otherAdmin = await h.createSpace('elsewhere')
    const foreign = await h.createUser('member', { space: 'elsewhere', adminToken: otherAdmin })
    const refusal = async (headers: Record<string, string>) => {
      const response = await h.request('POST', '/api/models/tickets/find', { token: vault, headers, body: {} })
      return `${response.status} ${response.body.error.code}: ${response.body.error.message}`
    }
    const short = await h.request('POST', `/v1/spaces/default/users/${staff.id}/tokens`, { token: h.adminToken, body: { ttlSeconds: 1 } })
    const revoked = await h.request('POST', `/v1/spaces/default/users/${staff.id}/tokens`, { token: h.adminToken, body: {} })
    await h.request('POST', `/v1/spaces/default/tokens/${revoked.body.id}:revoke`, { token: h.adminToken })
    const account = await h.request('POST', '/v1/spaces/default/service-accounts', { token: h.adminToken, body: { name: 'bot', role: 'admin' } })
    const robot = await h.request('POST', `/v1/spaces/default/service-accounts/${account.body.id}/tokens`, { token: h.adminToken, body: { name: 'bot' } })
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const messages = [
      await refusal(as(foreign.token)),
      await refusal(as(short.body.token)),
      await refusal(as(revoked.body.token)),
      await refusal(as(robot.body.token)),
      await refusal({}),
    ]
    expect(messages[0]).toMatch(/^403 forbidden: x-client-auth: this user access token belongs to another space/)
    expect(messages[1]).toMatch(/^401 token_expired: x-client-auth: token tok_\w+ expired at/)
    expect(messages[2]).toMatch(/^401 token_revoked: x-client-auth: token tok_\w+ was revoked at/)
    expect(messages[3]).toMatch(/^403 forbidden: x-client-auth: a service-account token opens no customer records/)
    expect(messages[4]).toMatch(/^401 acl_client_auth_missing: /)
  })
})

describe('revocation', () => {
  it('no find that starts after the revoke commits returns a row', async () => {
    const { grantId } = await approveAccess('c_42')
    let revokedAt = Number.POSITIVE_INFINITY
    const results: Array<{ startedAt: number; rows: number }> = []
    const stream = async () => {
      for (let i = 0; i < 40; i += 1) {
        const startedAt = performance.now()
        results.push({ startedAt, rows: (await find('tickets', staff.token)).length })
      }
    }
    const streams = [stream(), stream(), stream()]
    await new Promise((resolve) => setTimeout(resolve, 150))
    await h.request('POST', `/v1/spaces/default/grants/${grantId}:revoke`, { token: reviewer.token })
    revokedAt = performance.now()
    await Promise.all(streams)
    const after = results.filter((result) => result.startedAt > revokedAt)
    const before = results.filter((result) => result.startedAt < revokedAt)
    expect(before.some((result) => result.rows === 2)).toBe(true)
    expect(after.length).toBeGreaterThan(0)
    expect(after.every((result) => result.rows === 0)).toBe(true)
  })
})
