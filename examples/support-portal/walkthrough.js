// The join, end to end: an engineer asks for access to one customer, a reviewer approves it, and
// for as long as the grant lasts the vault returns that customer's rows to that engineer only.
//
//   GATEHOUSE_URL=http://127.0.0.1:8080 GATEHOUSE_ADMIN_TOKEN=ghs_… node examples/support-portal/walkthrough.js
import { randomBytes } from 'node:crypto'
import { GatehouseAPI, approval, getErrorKind } from '@gatehouse/sdk'

const base = process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:8080'
const adminToken = process.env.GATEHOUSE_ADMIN_TOKEN
if (!adminToken) throw new Error('set GATEHOUSE_ADMIN_TOKEN to the admin token the server printed on its first start')
const space = process.env.GATEHOUSE_SPACE ?? 'default'
const run = randomBytes(3).toString('hex') // this run's own names, so the script can run again

async function call(method, path, token, body, headers = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await response.text()
  const json = text ? JSON.parse(text) : null
  if (!response.ok && response.status !== 409) throw new Error(`${method} ${path}: ${response.status} ${text}`)
  return json
}
const step = (text) => console.log(`\n== ${text}`)
const v1 = `/v1/spaces/${space}`

step('1. The support portal uploads its customers as resources (reference 000\'s upload.js)')
const admin = new GatehouseAPI({ baseUrl: base, space, token: adminToken })
const customers = [{ id: 'c_42', name: 'Umbrella', plan: 'enterprise' }, { id: 'c_7', name: 'Globex', plan: 'pro' }]
await admin.resource.bulkUpdate({ resources: customers.map((c) => ({ kind: 'customer', id: c.id, displayName: c.name, labels: { plan: c.plan } })) })
console.log(customers.map((c) => `customer:${c.id}`).join(', '))

step('2. Their records go into the vault: customers and their tickets, opened only by grants')
await call('POST', `${v1}/vault/models`, adminToken, { name: 'customers', primaryKey: 'customer_id', fields: { customer_id: { type: 'string' }, name: { type: 'string' }, plan: { type: 'string' } } })
await call('POST', `${v1}/vault/models`, adminToken, { name: 'tickets', primaryKey: 'ticket_id', fields: { ticket_id: { type: 'string' }, customer_id: { type: 'string', searchable: true }, subject: { type: 'string' } } })
const byGrant = { source: 'grants', resourceKind: 'customer', field: 'customer_id' }
const policy = await call('POST', `${v1}/vault/policies`, adminToken, { name: `support ${run}`, rules: { customers: { actions: ['read'], acl: byGrant }, tickets: { actions: ['read'], acl: byGrant } } })
const loader = await call('POST', `${v1}/vault/policies`, adminToken, { name: `loader ${run}`, rules: { customers: { actions: ['write'], acl: { source: 'none' } }, tickets: { actions: ['write'], acl: { source: 'none' } } } })
const vaultToken = async (policyId, name) => {
  const client = await call('POST', `${v1}/vault/clients`, adminToken, { name, policyId })
  const token = await fetch(`${base}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }) })
  return (await token.json()).access_token
}
const portalVault = await vaultToken(policy.id, `support portal ${run}`)
const loaderVault = await vaultToken(loader.id, `loader ${run}`)
for (const c of customers) await call('POST', '/api/models/customers', loaderVault, { customer_id: c.id, name: c.name, plan: c.plan })
for (const [id, customer, subject] of [[`t1-${run}`, 'c_42', 'Cannot export invoices'], [`t2-${run}`, 'c_42', 'SSO loop'], [`t3-${run}`, 'c_7', 'Billing address']]) {
  await call('POST', '/api/models/tickets', loaderVault, { ticket_id: id, customer_id: customer, subject })
}
console.log('models customers and tickets; policy "support" opens rows by grants on customer:<customer_id>')

step('3. A support engineer and a reviewer')
const person = async (role) => {
  const user = await call('POST', `${v1}/users`, adminToken, { email: `${role}-${run}@example.com`, name: role, role })
  const token = await call('POST', `${v1}/users/${user.id}/tokens`, adminToken, {})
  return { ...user, token: token.token }
}
const engineer = await person('member')
const lead = await person('reviewer')
console.log(`engineer ${engineer.email}, reviewer ${lead.email}`)

const findTickets = async () => {
  const result = await call('POST', '/api/models/tickets/find', portalVault, { filter: {} }, { 'x-client-auth': `Bearer ${engineer.token}` })
  return result.data.map((t) => `${t.ticket_id} (${t.customer_id}): ${t.subject}`)
}

step('4. Before any approval, the engineer sees no tickets')
console.log(await findTickets())

step('5. The engineer asks for access to customer c_42')
const engineerClient = new GatehouseAPI({ baseUrl: base, space, token: engineer.token })
try {
  await approval({ client: engineerClient, petitioners: [{ kind: 'user', id: engineer.id, email: engineer.email }], resources: [{ kind: 'customer', id: 'c_42' }], reason: 'escalation', wait: { timeoutMs: 0 } })
} catch (err) {
  console.log(`approval(): ${getErrorKind(err)} (petition ${err.petition?.id})`)
}

step('6. The reviewer approves it for 2 hours')
const reviewerClient = new GatehouseAPI({ baseUrl: base, space, token: lead.token })
const [petition] = (await reviewerClient.petition.list({ state: 'open', petitioner: engineer.email })).petitions
const decided = await reviewerClient.petition.review({ id: petition.id, decision: 'approve', durationSeconds: 7200, comment: 'for the escalation' })
console.log(`petition ${decided.id}: ${decided.state}`)
const { grants } = await approval({ client: engineerClient, petitioners: [{ kind: 'user', id: engineer.id, email: engineer.email }], resources: [{ kind: 'customer', id: 'c_42' }], wait: { timeoutMs: 0 } })
console.log(`approval(): granted until ${grants[0].expiresAt}`)

step("7. Now the engineer's find returns c_42's tickets, and only those")
console.log(await findTickets())

step('8. The reviewer revokes the grant; the same find returns nothing')
await reviewerClient.grant.revoke(grants[0].id)
console.log(await findTickets())

step("9. The audit log: who read c_42's records, and under which grant")
const audit = await call('GET', `${v1}/audit?event=vault/read&resourceKind=customer&resourceId=c_42&limit=1`, adminToken)
const event = audit.events[0]
console.log(`${event.time} ${event.meta.clientUser.email} read ${event.meta.model} ${event.meta.ids.join(', ')} under grant ${event.meta.grants[0].grantId} (petition ${event.meta.grants[0].petitionId})`)
