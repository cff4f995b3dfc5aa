import { expect } from 'vitest'
import type { Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

/**
 * The support-portal data the console tests read: customers c_42 and c_7 as resources, models
 * `customers` (email masked) and `tickets` (internal_note not readable), rows for both customers,
 * and a vault client designated for the console whose policy opens both models by grants.
 */
export async function setUpConsoleVault(h: Harness): Promise<{ clientRowId: string; policyId: string }> {
  const ok = (response: { status: number; text: string }) => expect(response.status, response.text).toBeLessThan(300)
  ok(await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', {
    token: h.adminToken,
    body: { resources: [{ kind: 'customer', id: 'c_42', displayName: 'Umbrella Corp', labels: { region: 'eu' } }, { kind: 'customer', id: 'c_7', displayName: 'Globex', labels: { region: 'us' } }] },
  }))
  ok(await h.request('POST', '/v1/spaces/default/vault/models', {
    token: h.adminToken,
    body: { name: 'customers', primaryKey: 'customer_id', fields: { customer_id: { type: 'string' }, name: { type: 'string', searchable: true }, email: { type: 'string' } } },
  }))
  ok(await h.request('POST', '/v1/spaces/default/vault/models', {
    token: h.adminToken,
    body: { name: 'tickets', primaryKey: 'ticket_id', fields: { ticket_id: { type: 'string' }, customer_id: { type: 'string', searchable: true }, subject: { type: 'string', searchable: true }, internal_note: { type: 'string' } } },
  }))
  const byGrant = { source: 'grants', resourceKind: 'customer', field: 'customer_id' }
  const { policyId, clientId } = await setUpVault(
    h,
    {
      customers: { actions: ['read'], masked: { email: 'email' }, acl: byGrant },
      tickets: { actions: ['read'], readable: ['ticket_id', 'customer_id', 'subject'], acl: byGrant },
    },
    null,
  )
  const { token: backOffice } = await setUpVault(h, { customers: { actions: ['write'], acl: { source: 'none' } }, tickets: { actions: ['write'], acl: { source: 'none' } } }, null)
  for (const [id, name, email] of [['c_42', 'Umbrella Corp', 'ops@umbrella.example'], ['c_7', 'Globex', 'it@globex.example']]) {
    ok(await h.request('POST', '/api/models/customers', { token: backOffice, body: { customer_id: id, name, email } }))
  }
  for (const [id, customer, subject] of [['t1', 'c_42', 'Cannot export invoices'], ['t2', 'c_42', 'SSO loop'], ['t3', 'c_7', 'Refund request']]) {
    ok(await h.request('POST', '/api/models/tickets', { token: backOffice, body: { ticket_id: id, customer_id: customer, subject, internal_note: `secret about ${customer}` } }))
  }
  const clients = await h.request('GET', '/v1/spaces/default/vault/clients', { token: h.adminToken })
  const clientRowId = (clients.body.clients as Array<{ id: string; clientId: string }>).find((client) => client.clientId === clientId)!.id
  ok(await h.request('PUT', '/v1/spaces/default/vault/console', { token: h.adminToken, body: { clientId: clientRowId } }))
  return { clientRowId, policyId }
}
