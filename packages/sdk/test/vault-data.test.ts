/**
 * Issue 16: the vault data plane through `client.vault.connect()`, which fetches its OAuth
 * client-credentials token itself, keeps it, fetches a new one before it is due and once on a 401,
 * and lets a refused client's error through. Its own server: these tests move the server's clock.
 */
import { AuthenticationError, GatehouseAPI, NotFoundError, type VaultDataClient } from '@gatehouse/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EMPLOYEES, startFilterEndpoint, type FilterEndpoint } from '../../server/test/vault-harness.js'
import { listeningHarness } from './listen.js'

let h: Awaited<ReturnType<typeof listeningHarness>>
let endpoint: FilterEndpoint
let admin: GatehouseAPI
/** Requests to /oauth/token made through `admin`'s fetch, which connect() shares. */
let tokenFetches = 0
let credentials: { id: string; clientId: string; clientSecret: string }

beforeAll(async () => {
  h = await listeningHarness()
  endpoint = await startFilterEndpoint()
  endpoint.answer = () => ({ status: 200, body: JSON.stringify({ employee_id: '*' }) })
  const counting = ((input: string | URL | Request, init?: RequestInit) => {
    if (String(input).endsWith('/oauth/token')) tokenFetches += 1
    return fetch(input, init)
  }) as typeof fetch
  admin = new GatehouseAPI({ baseUrl: h.url, space: 'default', token: h.adminToken, maxRetries: 0, fetch: counting })
  await admin.vault.model.create({ name: 'notes', primaryKey: 'id', fields: { id: { type: 'string' }, text: { type: 'string' }, stars: { type: 'integer', searchable: true } } })
  await admin.vault.model.create(EMPLOYEES as Parameters<typeof admin.vault.model.create>[0])
  const policy = await admin.vault.policy.create({
    name: 'app',
    rules: {
      notes: { actions: ['read', 'write', 'delete'], acl: { source: 'none' } },
      employees: { actions: ['read', 'write'], acl: { source: 'external', url: endpoint.url, timeoutMs: 2000 } },
    },
  })
  credentials = await admin.vault.client.create({ name: 'app', policyId: policy.id })
})
afterAll(async () => {
  await endpoint.close()
  await h.close()
})

describe('vault.connect()', () => {
  it('creates, reads, finds, patches and deletes records', async () => {
    const vault = admin.vault.connect({ clientId: credentials.clientId, clientSecret: credentials.clientSecret })
    await vault.create('notes', { id: 'n1', text: 'first', stars: 1 })
    const many = await vault.createMany('notes', [
      { id: 'n2', text: 'second', stars: 5 },
      { id: 'n3', text: 'third', stars: 4 },
    ])
    expect(many.data).toHaveLength(2)
    expect(await vault.get('notes', 'n2')).toMatchObject({ id: 'n2', text: 'second' })
    const found = await vault.find('notes', { filter: { stars: { $gte: 4 } }, options: { limit: 10 } })
    expect(found.data.map((record) => record.id).sort()).toEqual(['n2', 'n3'])
    expect(found.meta.total).toBe(2)
    expect(await vault.update('notes', 'n3', { text: 'changed' })).toMatchObject({ id: 'n3', text: 'changed', stars: 4 })
    await vault.delete('notes', 'n1')
    const gone = await vault.get('notes', 'n1').catch((error) => error)
    expect(gone).toBeInstanceOf(NotFoundError)
  })

  it("sends clientAuth as x-client-auth, asking a function on every request", async () => {
    let user = 'user-token-1'
    const vault = admin.vault.connect({ clientId: credentials.clientId, clientSecret: credentials.clientSecret, clientAuth: () => user })
    endpoint.calls.length = 0
    await vault.create('employees', { employee_id: 'e1', first_name: 'Ada', last_name: 'L', deals_ratio: 1.5, yearly_spending: 10 })
    user = 'user-token-2'
    await vault.find('employees', {})
    expect(endpoint.calls.map((call) => call.headers.authorization)).toEqual(['Bearer user-token-1', 'Bearer user-token-2'])
    const fixed = admin.vault.connect({ clientId: credentials.clientId, clientSecret: credentials.clientSecret, clientAuth: 'Bearer user-token-3' })
    await fixed.find('employees', {})
    expect(endpoint.calls.at(-1)!.headers.authorization).toBe('Bearer user-token-3')
  })

  it('keeps its token, fetches one before it is due, and once more when the server refuses it', async () => {
    let offset = 0
    const vault: VaultDataClient = admin.vault.connect({ clientId: credentials.clientId, clientSecret: credentials.clientSecret, now: () => Date.now() + offset })
    const before = tokenFetches
    await Promise.all([vault.get('notes', 'n2'), vault.get('notes', 'n3'), vault.find('notes')])
    expect(tokenFetches - before).toBe(1) // three calls at once share one token fetch
    await vault.get('notes', 'n2')
    expect(tokenFetches - before).toBe(1)
    const first = await vault.accessToken()

    offset = 280_000 // the server's tokens live 300 s; the client renews 30 s early
    await vault.get('notes', 'n2')
    expect(tokenFetches - before).toBe(2)
    expect(await vault.accessToken()).not.toBe(first)

    h.advanceClock(600_000) // the server now sees the token as expired; the client does not know
    expect(await vault.get('notes', 'n2')).toMatchObject({ id: 'n2' })
    expect(tokenFetches - before).toBe(3)
  })

  it('a deleted client: the refusal of its credentials surfaces, after one retry', async () => {
    const doomed = await admin.vault.client.create({ name: 'doomed', policyId: (await admin.vault.policy.list()).policies[0]!.id })
    const vault = admin.vault.connect({ clientId: doomed.clientId, clientSecret: doomed.clientSecret })
    await vault.get('notes', 'n2')
    await admin.vault.client.delete(doomed.id)
    h.advanceClock(600_000) // its last token expires too
    const before = tokenFetches
    const error = await vault.get('notes', 'n2').catch((err) => err)
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(error.code).toBe('invalid_client')
    expect(tokenFetches - before).toBe(1)
    const wrongSecret = admin.vault.connect({ clientId: credentials.clientId, clientSecret: 'not the secret' })
    const refused = await wrongSecret.find('notes').catch((err) => err)
    expect(refused).toBeInstanceOf(AuthenticationError)
    expect(refused.message).toContain('wrong secret')
    expect(tokenFetches - before).toBe(2) // a refused secret is not asked again
  })
})
