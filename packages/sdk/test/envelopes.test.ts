/**
 * Issue 16: a list from the SDK has the same envelope as the REST API's answer (`{ resources,
 * nextCursor }`, `{ petitions, nextCursor }`, …), so docs, curl and code read alike.
 */
import { GatehouseAPI, approval } from '@gatehouse/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listeningHarness } from './listen.js'

let h: Awaited<ReturnType<typeof listeningHarness>>
let client: GatehouseAPI

beforeAll(async () => {
  h = await listeningHarness()
  client = new GatehouseAPI({ baseUrl: h.url, space: 'default', token: h.adminToken })
  await client.resource.bulkUpdate({ resources: ['c_1', 'c_2', 'c_3'].map((id) => ({ kind: 'customer', id, displayName: id, labels: { plan: 'pro' } })) })
  const petitioners = [{ kind: 'user' as const, id: 'u_1', email: 'agent@example.com' }]
  const waiting = await approval({ client, petitioners, resources: [{ kind: 'customer', id: 'c_1' }], wait: { timeoutMs: 0 } }).catch((error) => error)
  const reviewer = await h.createUser('reviewer')
  await new GatehouseAPI({ baseUrl: h.url, space: 'default', token: reviewer.token }).petition.review({ id: waiting.petition.id, decision: 'approve' })
  await approval({ client, petitioners, resources: [{ kind: 'customer', id: 'c_2' }], wait: { timeoutMs: 0 } }).catch(() => undefined)
})
afterAll(() => h.close())

const rest = async (path: string) => {
  const response = await h.request('GET', `/v1/spaces/default/${path}`, { token: h.adminToken })
  expect(response.status).toBe(200)
  return response.body
}

describe('list envelopes', () => {
  it('resource.list answers { resources, nextCursor } as GET /resources does, page by page', async () => {
    const first = await client.resource.list({ kind: 'customer', limit: 2 })
    expect(Object.keys(first).sort()).toEqual(['nextCursor', 'resources'])
    expect(first).toEqual(await rest('resources?kind=customer&limit=2'))
    expect(first.resources.map((resource) => resource.id)).toEqual(['c_1', 'c_2'])
    const second = await client.resource.list({ kind: 'customer', limit: 2, cursor: first.nextCursor! })
    expect(second.resources.map((resource) => resource.id)).toEqual(['c_3'])
    expect(second.nextCursor).toBeNull()
  })

  it('petition.list answers { petitions, nextCursor } as GET /petitions does', async () => {
    const page = await client.petition.list()
    expect(Object.keys(page).sort()).toEqual(['nextCursor', 'petitions'])
    expect(page).toEqual(await rest('petitions'))
    expect(page.petitions).toHaveLength(2)
  })

  it('grant.list answers { grants, nextCursor } as GET /grants does', async () => {
    const page = await client.grant.list({ active: true })
    expect(Object.keys(page).sort()).toEqual(['grants', 'nextCursor'])
    expect(page).toEqual(await rest('grants?active=true'))
    expect(page.grants).toHaveLength(1)
  })

  it('policy.list answers { policies } as GET /policies does', async () => {
    const page = await client.policy.list()
    expect(Object.keys(page)).toEqual(['policies'])
    expect(page).toEqual(await rest('policies'))
  })
})
