import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadMigrations, migrate } from '../src/db/migrate.js'
import { createHarness, openTestDb, type Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

/**
 * Issue 11, identity: grants belong to a user id, not to an email string; deleting or deactivating
 * a user ends their access in the same transaction; members see a closed view of their petitions.
 */
let h: Harness
let vault: string // the support portal's vault token: customers opened by grants
let portal: string // the application's service-account token: asks on behalf of its users
let reviewer: { id: string; email: string; token: string }

beforeAll(async () => {
  h = await createHarness()
  reviewer = await h.createUser('reviewer')
  const account = await h.request('POST', '/v1/spaces/default/service-accounts', { token: h.adminToken, body: { name: 'portal', role: 'member' } })
  portal = (await h.request('POST', `/v1/spaces/default/service-accounts/${account.body.id}/tokens`, { token: h.adminToken, body: { name: 'portal', scopes: ['access:request', 'access:read'] } })).body.token
  const customers = ['c_1', 'c_2', 'c_3', 'c_4', 'c_5', 'c_6'].map((id) => ({ kind: 'customer', id }))
  await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources: customers } })
  await h.request('POST', '/v1/spaces/default/vault/models', { token: h.adminToken, body: { name: 'customers', primaryKey: 'customer_id', fields: { customer_id: { type: 'string' }, name: { type: 'string' } } } })
  ;({ token: vault } = await setUpVault(h, { customers: { actions: ['read'], acl: { source: 'grants', resourceKind: 'customer', field: 'customer_id' } } }, null))
  const { token: backOffice } = await setUpVault(h, { customers: { actions: ['write'], acl: { source: 'none' } } }, null)
  for (const { id } of customers) await h.request('POST', '/api/models/customers', { token: backOffice, body: { customer_id: id, name: `Customer ${id}` } })
  // Webhook subscribers, so that access events leave through the outbox.
  const hook = await h.request('POST', '/v1/spaces/default/webhooks', { token: h.adminToken, body: { url: 'http://127.0.0.1:9/hooks', events: ['access/revoke'] } })
  expect(hook.status, hook.text).toBe(201)
})
afterAll(() => h.close())

const petitioner = (person: { id: string; email: string }) => ({ kind: 'user', id: person.id, email: person.email })
const ask = (person: { id: string; email: string }, customer: string) =>
  h.request('POST', '/v1/spaces/default/approvals', { token: portal, body: { petitioners: [petitioner(person)], resources: [{ kind: 'customer', id: customer }] } })

/** Customers the vault opens to the person whose user token is sent as x-client-auth. */
const vaultRows = async (userToken: string) => {
  const response = await h.request('POST', '/api/models/customers/find', { token: vault, headers: { 'x-client-auth': `Bearer ${userToken}` }, body: { filter: {} } })
  return { status: response.status, ids: response.status === 200 ? (response.body.data as Array<{ customer_id: string }>).map((row) => row.customer_id) : response.body }
}

async function grant(person: { id: string; email: string }, customer: string): Promise<{ petitionId: string; grantId: string }> {
  const asked = await ask(person, customer)
  expect(asked.body.status, asked.text).toBe('waiting')
  const reviewed = await h.request('POST', `/v1/spaces/default/petitions/${asked.body.petition.id}:review`, { token: reviewer.token, body: { decision: 'approve', durationSeconds: 3600 } })
  expect(reviewed.status, reviewed.text).toBe(200)
  const granted = await ask(person, customer)
  expect(granted.body.status).toBe('granted')
  return { petitionId: asked.body.petition.id, grantId: granted.body.grants[0].id }
}

const auditOf = async (event: string, filter: (meta: Record<string, unknown>) => boolean) => {
  const found = await h.request('GET', `/v1/spaces/default/audit?event=${event}&limit=200`, { token: h.adminToken })
  return (found.body.events as Array<{ actor: { id: string }; resources: Array<{ kind: string; id: string }>; meta: Record<string, unknown> }>).filter((entry) => filter(entry.meta))
}

const outbox = async (needle: string) =>
  (await h.db.query<{ type: string; payload: string }>(`SELECT type, payload FROM webhook_messages WHERE payload LIKE '%' || $1 || '%' ORDER BY created_at`, [needle])).rows.map((row) => ({
    type: row.type,
    data: (JSON.parse(row.payload) as { data: Record<string, unknown> }).data,
  }))

describe('a grant belongs to a user, not to an email', () => {
  it('delete a user with a grant, create one with the same email: the vault join returns nothing and approval() is waiting', async () => {
    const first = await h.createUser('member', { email: 'dana@example.com' })
    await grant(first, 'c_1')
    expect(await vaultRows(first.token)).toEqual({ status: 200, ids: ['c_1'] })

    expect((await h.request('DELETE', `/v1/spaces/default/users/${first.id}`, { token: h.adminToken })).status).toBe(204)
    const second = await h.createUser('member', { email: 'dana@example.com' })
    expect(second.id).not.toBe(first.id)

    expect(await vaultRows(second.token)).toEqual({ status: 200, ids: [] })
    const asked = await ask(second, 'c_1')
    expect(asked.body.status).toBe('waiting')
    expect(asked.body.petition.petitioners[0].userId).toBe(second.id)
  })

  it('deleting a user revokes their grants and cancels their open petitions in the same transaction, each audited and announced with reason user_deleted', async () => {
    const person = await h.createUser('member')
    const { grantId } = await grant(person, 'c_2')
    const open = await ask(person, 'c_3')
    expect(open.body.status).toBe('waiting')

    expect((await h.request('DELETE', `/v1/spaces/default/users/${person.id}`, { token: h.adminToken })).status).toBe(204)

    const revokedGrant = await h.request('GET', `/v1/spaces/default/grants/${grantId}`, { token: h.adminToken })
    expect(revokedGrant.body.revokedAt).not.toBeNull()
    expect(revokedGrant.body.petitioner).toMatchObject({ email: person.email, userId: person.id })
    const petition = await h.request('GET', `/v1/spaces/default/petitions/${open.body.petition.id}`, { token: h.adminToken })
    expect(petition.body).toMatchObject({ state: 'cancelled', decisionComment: 'user_deleted' })

    const grantEvents = await auditOf('access/revoke', (meta) => meta.grantId === grantId)
    expect(grantEvents).toHaveLength(1)
    expect(grantEvents[0]!.meta).toMatchObject({ reason: 'user_deleted', petitionerUserId: person.id })
    expect(grantEvents[0]!.resources).toContainEqual({ kind: 'user', id: person.id })
    const petitionEvents = await auditOf('access/revoke', (meta) => meta.petitionId === open.body.petition.id && meta.grantId === undefined)
    expect(petitionEvents).toHaveLength(1)
    expect(petitionEvents[0]!.meta).toMatchObject({ reason: 'user_deleted', petitionerUserId: person.id })
    // The revocations are written before the user's own deletion event, in one transaction.
    const [deletion] = await auditOf('user/delete', () => true).then((events) => events.filter((entry) => entry.resources.some((ref) => ref.id === person.id)))
    expect(deletion).toBeDefined()

    const announced = await outbox(grantId)
    expect(announced).toEqual([{ type: 'access/revoke', data: expect.objectContaining({ reason: 'user_deleted', grant: expect.objectContaining({ id: grantId }) }) }])
    const announcedPetition = (await outbox(open.body.petition.id)).filter((message) => message.type === 'access/revoke')
    expect(announcedPetition).toEqual([{ type: 'access/revoke', data: expect.objectContaining({ reason: 'user_deleted', petition: expect.objectContaining({ id: open.body.petition.id }) }) }])
  })

  it('a deletion that fails leaves every grant active (one transaction); the retried deletion revokes them', async () => {
    const person = await h.createUser('member')
    const { grantId } = await grant(person, 'c_4')
    // Make the user's own deletion fail after their access was ended, inside the same transaction.
    await h.db.query(`CREATE TABLE identity_test_blocker (space_id text, user_id text, FOREIGN KEY (space_id, user_id) REFERENCES users (space_id, id))`)
    try {
      await h.db.query('INSERT INTO identity_test_blocker VALUES ($1, $2)', ['default', person.id])
      expect((await h.request('DELETE', `/v1/spaces/default/users/${person.id}`, { token: h.adminToken })).status).toBe(409)
    } finally {
      await h.db.query('DROP TABLE identity_test_blocker')
    }
    expect((await h.request('GET', `/v1/spaces/default/grants/${grantId}`, { token: h.adminToken })).body.revokedAt).toBeNull()
    expect(await auditOf('access/revoke', (meta) => meta.grantId === grantId)).toHaveLength(0)
    expect(await vaultRows(person.token)).toEqual({ status: 200, ids: ['c_4'] })

    expect((await h.request('DELETE', `/v1/spaces/default/users/${person.id}`, { token: h.adminToken })).status).toBe(204)
    expect((await h.request('GET', `/v1/spaces/default/grants/${grantId}`, { token: h.adminToken })).body.revokedAt).not.toBeNull()
    expect(await auditOf('access/revoke', (meta) => meta.grantId === grantId)).toHaveLength(1)
  })

  it('a petitioner known by email alone is bound to the user created later with that email', async () => {
    const email = 'not-yet@example.com'
    const asked = await h.request('POST', '/v1/spaces/default/approvals', { token: portal, body: { petitioners: [{ kind: 'user', id: 'app_77', email }], resources: [{ kind: 'customer', id: 'c_5' }] } })
    expect(asked.body.petition.petitioners[0].userId).toBeNull()
    await h.request('POST', `/v1/spaces/default/petitions/${asked.body.petition.id}:review`, { token: reviewer.token, body: { decision: 'approve', durationSeconds: 3600 } })
    const granted = await h.request('POST', '/v1/spaces/default/approvals', { token: portal, body: { petitioners: [{ kind: 'user', id: 'app_77', email }], resources: [{ kind: 'customer', id: 'c_5' }] } })
    expect(granted.body.status).toBe('granted')
    expect(granted.body.grants[0].petitioner.userId).toBeNull()

    const person = await h.createUser('member', { email })
    expect(await vaultRows(person.token)).toEqual({ status: 200, ids: ['c_5'] })
    const grantNow = await h.request('GET', `/v1/spaces/default/grants/${granted.body.grants[0].id}`, { token: h.adminToken })
    expect(grantNow.body.petitioner.userId).toBe(person.id)
    expect((await ask(person, 'c_5')).body.status).toBe('granted')
  })
})

describe('another user\'s petition is never handed over', () => {
  it('an open petition naming another user with the same email (left by a race with a deletion) is refused, not answered as ours', async () => {
    const person = await h.createUser('member')
    const open = await ask(person, 'c_3')
    expect(open.body.status).toBe('waiting')
    // As if the petition had been made for an earlier user with this email whose deletion raced it.
    await h.db.query(`UPDATE petitions SET petitioners = jsonb_set(petitioners, '{0,userId}', '"usr_gone"') WHERE id = $1`, [open.body.petition.id])
    const again = await ask(person, 'c_3')
    expect(again.status).toBe(409)
    expect(again.body.error.message).toContain('belongs to other users')
    await h.request('POST', `/v1/spaces/default/petitions/${open.body.petition.id}:cancel`, { token: h.adminToken })
  })
})

describe('deactivating a user', () => {
  it('revokes their grants and cancels their open petitions (reason user_deactivated), refuses their tokens and their sign-in, and refuses asking for them', async () => {
    const password = 'a long enough password'
    const person = await h.createUser('member', { password })
    const { grantId } = await grant(person, 'c_6')
    const open = await ask(person, 'c_3')
    expect(await vaultRows(person.token)).toEqual({ status: 200, ids: ['c_6'] })

    const deactivated = await h.request('POST', `/v1/spaces/default/users/${person.id}:deactivate`, { token: h.adminToken })
    expect(deactivated.status, deactivated.text).toBe(200)
    expect(deactivated.body.disabledAt).toEqual(expect.any(String))

    const me = await h.request('GET', '/v1/spaces/default/auth/me', { token: person.token })
    expect(me.status).toBe(401)
    expect(me.body.error.message).toMatch(/deactivated/)
    const rows = await vaultRows(person.token)
    expect(rows.status).toBe(401)
    const signIn = await h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email: person.email, password } })
    expect(signIn.status).toBe(401)
    expect(signIn.body.error.message).toMatch(/deactivated/)

    expect((await h.request('GET', `/v1/spaces/default/grants/${grantId}`, { token: h.adminToken })).body.revokedAt).not.toBeNull()
    expect((await h.request('GET', `/v1/spaces/default/petitions/${open.body.petition.id}`, { token: h.adminToken })).body.state).toBe('cancelled')
    expect((await auditOf('access/revoke', (meta) => meta.grantId === grantId))[0]!.meta.reason).toBe('user_deactivated')
    expect((await auditOf('access/revoke', (meta) => meta.petitionId === open.body.petition.id && meta.grantId === undefined))[0]!.meta.reason).toBe('user_deactivated')
    expect(await outbox(grantId)).toEqual([{ type: 'access/revoke', data: expect.objectContaining({ reason: 'user_deactivated' }) }])

    const again = await ask(person, 'c_6')
    expect(again.status).toBe(403)
    expect(again.body.error.message).toContain('deactivated')

    // Twice is harmless: nothing new is recorded.
    expect((await h.request('POST', `/v1/spaces/default/users/${person.id}:deactivate`, { token: h.adminToken })).status).toBe(200)
    expect(await auditOf('access/revoke', (meta) => meta.grantId === grantId)).toHaveLength(1)
  })

  it('is for admins only, and not of oneself', async () => {
    const person = await h.createUser('member')
    const asReviewer = await h.request('POST', `/v1/spaces/default/users/${person.id}:deactivate`, { token: reviewer.token })
    expect(asReviewer.status).toBe(403)
    const admin = await h.createUser('admin')
    const self = await h.request('POST', `/v1/spaces/default/users/${admin.id}:deactivate`, { token: admin.token })
    expect(self.status).toBe(403)
    expect((await h.request('POST', '/v1/spaces/default/users/usr_nobody:deactivate', { token: h.adminToken })).status).toBe(404)
  })
})

describe('what a member sees of their own petition', () => {
  it('state, resources, reviewers\' decisions and times — not the delegate URL or the reviewer configuration; admins and reviewers still see the rule', async () => {
    const secretUrl = 'http://127.0.0.1:9/secret-decision-endpoint'
    const policy = await h.request('POST', '/v1/spaces/default/policies', {
      token: h.adminToken,
      body: { name: 'delegated', priority: 1, match: { resourceKinds: ['account'] }, decision: { type: 'delegate', url: secretUrl, timeoutMs: 200, reviewers: { users: [reviewer.id] }, approvalsRequired: 1 } },
    })
    expect(policy.status, policy.text).toBe(201)
    await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources: [{ kind: 'account', id: 'a_1' }] } })
    try {
      const member = await h.createUser('member')
      const created = await h.request('POST', '/v1/spaces/default/petitions', { token: member.token, body: { petitioners: [petitioner(member)], resources: [{ kind: 'account', id: 'a_1' }], reason: 'audit' } })
      expect(created.status, created.text).toBe(201)
      expect(created.text).not.toContain('secret-decision-endpoint')
      const petitionId = created.body.id as string
      const reviewed = await h.request('POST', `/v1/spaces/default/petitions/${petitionId}:review`, { token: reviewer.token, body: { decision: 'deny', comment: 'not today' } })
      expect(reviewed.status, reviewed.text).toBe(200)
      // A reviewer sees the rule, but not the delegate's URL (it may carry a secret; admins read it on the policy).
      expect(reviewed.body.rule.decision).toMatchObject({ type: 'delegate', reviewers: { users: [reviewer.id] } })
      expect(reviewed.text).not.toContain('secret-decision-endpoint')

      const own = await h.request('GET', `/v1/spaces/default/petitions/${petitionId}`, { token: member.token })
      expect(own.status).toBe(200)
      expect(own.text).not.toContain('secret-decision-endpoint')
      expect(own.text).not.toContain('"reviewers"')
      expect(Object.keys(own.body).sort()).toEqual(
        ['createdAt', 'decidedAt', 'decisionComment', 'durationSeconds', 'emergency', 'extendsGrantId', 'id', 'petitioners', 'reason', 'resources', 'reviews', 'startsAt', 'state', 'view'].sort(),
      )
      expect(own.body).toMatchObject({ view: 'member', state: 'denied', resources: [{ kind: 'account', id: 'a_1' }], decisionComment: 'not today' })
      expect(own.body.reviews).toEqual([expect.objectContaining({ reviewerId: reviewer.id, decision: 'deny', comment: 'not today', createdAt: expect.any(String) })])
      expect(own.body.decidedAt).toEqual(expect.any(String))

      const viaApproval = await h.request('POST', '/v1/spaces/default/approvals', { token: member.token, body: { petitioners: [petitioner(member)], resources: [{ kind: 'account', id: 'a_1' }] } })
      expect(viaApproval.body).toMatchObject({ status: 'denied', petition: { view: 'member', id: petitionId } })
      expect(viaApproval.text).not.toContain('secret-decision-endpoint')

      const listed = await h.request('GET', '/v1/spaces/default/petitions', { token: member.token })
      expect(listed.text).not.toContain('secret-decision-endpoint')
      expect(listed.body.petitions.map((entry: { id: string; view: string }) => [entry.id, entry.view])).toEqual([[petitionId, 'member']])

      const asAdmin = await h.request('GET', `/v1/spaces/default/petitions/${petitionId}`, { token: h.adminToken })
      expect(asAdmin.body.view).toBeUndefined()
      expect(asAdmin.body.rule.decision).toMatchObject({ type: 'delegate', reviewers: { users: [reviewer.id] } })
      const asReviewer = await h.request('GET', `/v1/spaces/default/petitions/${petitionId}`, { token: reviewer.token })
      expect(asReviewer.body.rule.decision).toMatchObject({ type: 'delegate', approvalsRequired: 1 })
      const policyAsAdmin = await h.request('GET', `/v1/spaces/default/policies/${policy.body.id}`, { token: h.adminToken })
      expect(policyAsAdmin.body.decision.url).toBe(secretUrl)
    } finally {
      await h.request('DELETE', `/v1/spaces/default/policies/${policy.body.id}`, { token: h.adminToken })
    }
  })
})

describe('migration 0005_identity', () => {
  it('binds existing grants and petitioners to the users who have their email, and leaves the others unbound', async () => {
    const store = await openTestDb()
    try {
      const all = await loadMigrations()
      await migrate(store.db, async () => null, all.filter((migration) => migration.version < 5))
      await store.db.query(`INSERT INTO spaces (id, display_name) VALUES ('s', 'S')`)
      await store.db.query(`INSERT INTO users (space_id, id, email, name, role) VALUES ('s', 'usr_known', 'known@example.com', 'K', 'member')`)
      const petitioners = JSON.stringify([{ kind: 'user', id: 'app_1', email: 'known@example.com' }, { kind: 'user', id: 'app_2', email: 'stranger@example.com' }])
      await store.db.query(
        `INSERT INTO petitions (space_id, id, request_key, state, petitioners, resources, rule, created_by) VALUES ('s', 'pet_1', 'k', 'granted', $1::jsonb, '[]', '{}', '{}')`,
        [petitioners],
      )
      await store.db.query(
        `INSERT INTO grants (space_id, id, petition_id, petitioner_id, petitioner_email, resource_kind, resource_id, starts_at, expires_at) VALUES
           ('s', 'grt_1', 'pet_1', 'app_1', 'known@example.com', 'customer', 'c_1', now(), now() + interval '1 hour'),
           ('s', 'grt_2', 'pet_1', 'app_2', 'stranger@example.com', 'customer', 'c_1', now(), now() + interval '1 hour')`,
      )
      await migrate(store.db, async () => null, all)
      const grants = await store.db.query<{ id: string; petitioner_user_id: string | null }>('SELECT id, petitioner_user_id FROM grants ORDER BY id')
      expect(grants.rows).toEqual([
        { id: 'grt_1', petitioner_user_id: 'usr_known' },
        { id: 'grt_2', petitioner_user_id: null },
      ])
      const petition = await store.db.query<{ petitioners: Array<Record<string, unknown>> }>(`SELECT petitioners FROM petitions WHERE id = 'pet_1'`)
      expect(petition.rows[0]!.petitioners).toEqual([
        { kind: 'user', id: 'app_1', email: 'known@example.com', userId: 'usr_known' },
        { kind: 'user', id: 'app_2', email: 'stranger@example.com', userId: null },
      ])
    } finally {
      await store.drop()
    }
  })
})
