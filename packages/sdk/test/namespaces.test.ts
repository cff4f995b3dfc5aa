/**
 * Issue 16: each SDK namespace against a live server, its main path and one refusal, through the
 * same HTTP a caller's app uses. Lists answer the REST envelope names.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  APIConnectionError,
  AuthenticationError,
  ConflictError,
  GatehouseAPI,
  NotFoundError,
  PermissionDeniedError,
  approval,
  getErrorKind,
} from '@gatehouse/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listeningHarness } from './listen.js'

let h: Awaited<ReturnType<typeof listeningHarness>>
let admin: GatehouseAPI
let member: GatehouseAPI
let memberId: string

beforeAll(async () => {
  h = await listeningHarness()
  admin = new GatehouseAPI({ baseUrl: h.url, space: 'default', token: h.adminToken, maxRetries: 0 })
  const created = await h.createUser('member')
  memberId = created.id
  member = new GatehouseAPI({ baseUrl: h.url, space: 'default', token: created.token, maxRetries: 0 })
})
afterAll(() => h.close())

const caught = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error)

describe('system', () => {
  it('answers health, readiness and the vault keys without a token; an unreachable server is a connection error', async () => {
    const anonymous = new GatehouseAPI({ baseUrl: h.url, space: 'default' })
    expect(await anonymous.system.health()).toEqual({ status: 'ok' })
    expect((await anonymous.system.ready()).status).toBe('ready')
    expect(Array.isArray((await anonymous.system.jwks()).keys)).toBe(true)
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    expect(await caught(new GatehouseAPI({ baseUrl: `http://127.0.0.1:${port}`, space: 'default', maxRetries: 0 }).system.health())).toBeInstanceOf(APIConnectionError)
  })
})

describe('space', () => {
  it('creates, lists and gets spaces; a member may not create one', async () => {
    const created = await admin.space.create({ id: 'acme', displayName: 'Acme' })
    expect(created.space.id).toBe('acme')
    expect(created.adminToken.token).toMatch(/^ghs_/)
    expect((await admin.space.list()).spaces.map((space) => space.id)).toEqual(expect.arrayContaining(['default', 'acme']))
    expect((await admin.space.get()).id).toBe('default')
    const acmeAdmin = new GatehouseAPI({ baseUrl: h.url, space: 'acme', token: created.adminToken.token })
    expect((await acmeAdmin.space.get()).displayName).toBe('Acme')
    expect(await caught(member.space.create({ id: 'nope' }))).toBeInstanceOf(PermissionDeniedError)
  })
})

describe('auth', () => {
  it('signs in without a token, acts as the user, signs out; a wrong password and a missing token are 401', async () => {
    const user = await admin.user.create({ email: 'pat@example.com', name: 'Pat', role: 'reviewer', password: 'correct horse battery' })
    const anonymous = new GatehouseAPI({ baseUrl: h.url, space: 'default', maxRetries: 0 })
    const signedIn = await anonymous.auth.signIn({ email: 'pat@example.com', password: 'correct horse battery' })
    const pat = new GatehouseAPI({ baseUrl: h.url, space: 'default', token: signedIn.token, maxRetries: 0 })
    const me = await pat.auth.whoAmI()
    expect(me).toMatchObject({ subjectId: user.id, role: 'reviewer', kind: 'user' })
    expect((await pat.auth.signOut()).revokedAt).not.toBeNull()
    expect(await caught(pat.auth.whoAmI())).toBeInstanceOf(AuthenticationError)
    const wrong = await caught(anonymous.auth.signIn({ email: 'pat@example.com', password: 'wrong wrong wrong' }))
    expect(wrong).toBeInstanceOf(AuthenticationError)
    expect(await caught(anonymous.user.list())).toBeInstanceOf(AuthenticationError)
  })
})

describe('user', () => {
  it('creates, gets, lists, updates, deactivates and deletes; a member may not create', async () => {
    const user = await admin.user.create({ email: 'sam@example.com', name: 'Sam', role: 'member' })
    expect((await admin.user.get(user.id)).email).toBe('sam@example.com')
    const page = await admin.user.list({ limit: 200 })
    expect(Object.keys(page).sort()).toEqual(['nextCursor', 'users'])
    expect(page.users.map((listed) => listed.id)).toContain(user.id)
    expect((await admin.user.update(user.id, { name: 'Samantha' })).name).toBe('Samantha')
    expect((await admin.user.deactivate(user.id)).disabledAt).not.toBeNull()
    await admin.user.delete(user.id)
    expect(await caught(admin.user.get(user.id))).toBeInstanceOf(NotFoundError)
    expect(await caught(member.user.create({ email: 'x@example.com', name: 'X', role: 'admin' }))).toBeInstanceOf(PermissionDeniedError)
  })
})

describe('group', () => {
  it('creates, adds and removes a member, lists, deletes; a deleted group is 404', async () => {
    const group = await admin.group.create({ name: 'support', description: 'Tier 1' })
    expect((await admin.group.addMember(group.id, memberId)).members).toContain(memberId)
    expect((await admin.group.get(group.id)).members).toContain(memberId)
    expect((await admin.group.removeMember(group.id, memberId)).members).not.toContain(memberId)
    expect((await admin.group.list()).groups.map((listed) => listed.id)).toContain(group.id)
    await admin.group.delete(group.id)
    expect(await caught(admin.group.get(group.id))).toBeInstanceOf(NotFoundError)
  })
})

describe('serviceAccount and token', () => {
  it('creates an account, issues, lists, gets and revokes its token; a revoked token is refused', async () => {
    const account = await admin.serviceAccount.create({ name: 'uploader', role: 'admin' })
    expect((await admin.serviceAccount.get(account.id)).name).toBe('uploader')
    expect((await admin.serviceAccount.list()).serviceAccounts.map((listed) => listed.id)).toContain(account.id)
    const issued = await admin.token.issueForServiceAccount(account.id, { name: 'ci', scopes: ['resources:read'] })
    const ci = new GatehouseAPI({ baseUrl: h.url, space: 'default', token: issued.token, maxRetries: 0 })
    expect((await ci.resource.list()).resources).toEqual([])
    expect(await caught(ci.user.list())).toBeInstanceOf(PermissionDeniedError) // scoped to resources:read
    const listed = await admin.token.list({ subject: account.id })
    expect(listed.tokens.map((token) => token.id)).toEqual([issued.id])
    expect((await admin.token.get(issued.id)).scopes).toEqual(['resources:read'])
    expect((await admin.token.revoke(issued.id)).revokedAt).not.toBeNull()
    expect(await caught(ci.resource.list())).toBeInstanceOf(AuthenticationError)
    await admin.serviceAccount.delete(account.id)
    expect(await caught(admin.serviceAccount.get(account.id))).toBeInstanceOf(NotFoundError)
  })

  it('issues a token for a user that acts as them; a member cannot issue one for someone else', async () => {
    const issued = await admin.token.issueForUser(memberId, { name: 'support session' })
    const asMember = new GatehouseAPI({ baseUrl: h.url, space: 'default', token: issued.token })
    expect((await asMember.auth.whoAmI()).subjectId).toBe(memberId)
    const other = await admin.user.create({ email: 'other@example.com', name: 'Other', role: 'member' })
    expect(await caught(member.token.issueForUser(other.id))).toBeInstanceOf(PermissionDeniedError)
    expect(await caught(admin.token.get('tok_nope'))).toBeInstanceOf(NotFoundError)
  })
})

describe('audit', () => {
  it('lists, verifies, checkpoints and verifies against checkpoints; a member may not read the log', async () => {
    const page = await admin.audit.list({ limit: 5 })
    expect(Object.keys(page).sort()).toEqual(['events', 'nextCursor'])
    expect(page.events.length).toBe(5)
    expect((await admin.audit.verify()).ok).toBe(true)
    const checkpoint = await admin.audit.createCheckpoint()
    expect((await admin.audit.listCheckpoints()).checkpoints).toContainEqual(checkpoint)
    const report = await admin.audit.verifyAgainstCheckpoints([checkpoint])
    expect(report.ok).toBe(true)
    expect((await admin.audit.signingKey()).algorithm).toBe('Ed25519')
    expect(await caught(member.audit.list())).toBeInstanceOf(PermissionDeniedError)
  })

  it('export() iterates every event oldest first, past the server page size, and filters', async () => {
    const space = 'exported'
    const spaceAdmin = await h.createSpace(space)
    const audit = h.built.services.audit
    await h.db.transaction(async (tx) => {
      for (let i = 0; i < 1_200; i += 1) await audit.append(tx, space, { event: 'test/export', actor: { kind: 'system', id: 'test' }, meta: { i } })
    })
    const client = new GatehouseAPI({ baseUrl: h.url, space, token: spaceAdmin })
    const seen: number[] = []
    for await (const event of client.audit.export({ event: 'test/export' })) seen.push((event.meta as { i: number }).i)
    expect(seen).toEqual(Array.from({ length: 1_200 }, (_, i) => i))
    let first: unknown
    for await (const event of client.audit.export()) {
      first = event
      break // leaves early: the connection is closed, the loop ends
    }
    expect((first as { seq: number }).seq).toBe(1)
    expect(await caught(member.audit.export().next())).toBeInstanceOf(PermissionDeniedError)
  })

  it('export() yields each line as it arrives, across chunk boundaries, without waiting for the end', async () => {
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    const server = createServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' })
      res.write('{"seq":1,"event":"a"}\n{"seq":2,')
      await released // the rest only after the client has the first event
      res.write('"event":"b"}\n')
      res.end('{"seq":3,"event":"c"}')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const client = new GatehouseAPI({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, space: 's', token: 't' })
      const events: unknown[] = []
      for await (const event of client.audit.export()) {
        events.push(event)
        if (events.length === 1) release()
      }
      expect(events).toEqual([
        { seq: 1, event: 'a' },
        { seq: 2, event: 'b' },
        { seq: 3, event: 'c' },
      ])
    } finally {
      release()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

describe('webhook', () => {
  it('creates, updates, rotates, lists deliveries, redelivers and deletes; a deleted endpoint is 404', async () => {
    const receiver = createServer((_req, res) => res.writeHead(204).end())
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`
      const endpoint = await admin.webhook.create({ url, events: ['access/request'] })
      expect(endpoint.secret).toMatch(/^whsec_/)
      expect((await admin.webhook.get(endpoint.id)).url).toBe(url)
      expect((await admin.webhook.update(endpoint.id, { description: 'ops' })).description).toBe('ops')
      const rotated = await admin.webhook.rotateSecret(endpoint.id, { overlapSeconds: 60 })
      expect(rotated.secret).not.toBe(endpoint.secret)
      expect((await admin.webhook.list()).webhooks.map((listed) => listed.id)).toContain(endpoint.id)
      await admin.resource.bulkUpdate({ resources: [{ kind: 'customer', id: 'c_9' }] })
      expect(getErrorKind(await caught(approval({ client: admin, petitioners: [{ kind: 'user', id: 'u_1', email: 'a@example.com' }], resources: [{ kind: 'customer', id: 'c_9' }], wait: { timeoutMs: 0 } })))).toBe('waiting')
      await h.built.webhookWorker.runOnce()
      const deliveries = await admin.webhook.listDeliveries(endpoint.id)
      expect(deliveries.deliveries).toHaveLength(1)
      const delivery = await admin.webhook.getDelivery(endpoint.id, deliveries.deliveries[0]!.id)
      expect(delivery.state).toBe('delivered')
      expect((await admin.webhook.redeliver(endpoint.id, delivery.id)).state).toBe('pending')
      await admin.webhook.delete(endpoint.id)
      expect(await caught(admin.webhook.get(endpoint.id))).toBeInstanceOf(NotFoundError)
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()))
    }
  })
})

describe('vault control plane', () => {
  it('models, policies and clients round-trip; a second model of one name is a conflict', async () => {
    const model = await admin.vault.model.create({ name: 'tickets', primaryKey: 'id', fields: { id: { type: 'string' }, subject: { type: 'string' } } })
    expect(model.name).toBe('tickets')
    expect(await caught(admin.vault.model.create({ name: 'tickets', primaryKey: 'id', fields: { id: { type: 'string' } } }))).toBeInstanceOf(ConflictError)
    expect((await admin.vault.model.list()).models.map((listed) => listed.name)).toContain('tickets')
    const plan = await admin.vault.model.update('tickets', { primaryKey: 'id', fields: { id: { type: 'string' }, subject: { type: 'string' }, body: { type: 'string' } } }, { dryRun: true })
    expect(JSON.stringify(plan)).toContain('body')
    expect(Object.keys((await admin.vault.model.get('tickets')).fields)).toEqual(['id', 'subject']) // a dry run changes nothing

    const rules = { tickets: { actions: ['read' as const], acl: { source: 'none' as const } } }
    const policy = await admin.vault.policy.create({ name: 'support', rules })
    expect((await admin.vault.policy.get(policy.id)).name).toBe('support')
    expect((await admin.vault.policy.replace(policy.id, { name: 'support-2', rules })).name).toBe('support-2')
    expect((await admin.vault.policy.list()).policies.map((listed) => listed.id)).toContain(policy.id)

    const client = await admin.vault.client.create({ name: 'frontend', policyId: policy.id })
    expect((await admin.vault.client.list()).clients.map((listed) => listed.id)).toContain(client.id)
    const token = await admin.vault.token({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret })
    expect(token.token_type).toBe('Bearer')
    expect((await admin.vault.client.rotateSigningKey()).kid).toEqual(expect.any(String))
    await admin.vault.client.delete(client.id)
    await admin.vault.policy.delete(policy.id)
    expect(await caught(admin.vault.policy.get(policy.id))).toBeInstanceOf(NotFoundError)
    await admin.vault.model.delete('tickets')
    expect(await caught(admin.vault.model.get('tickets'))).toBeInstanceOf(NotFoundError)
    expect(await caught(member.vault.model.list())).toBeInstanceOf(PermissionDeniedError)
  })
})
