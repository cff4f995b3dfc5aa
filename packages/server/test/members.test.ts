import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

describe('users', () => {
  it('are created, listed in pages, updated and deleted, each change audited', async () => {
    const emails = ['b@example.com', 'a@example.com', 'c@example.com']
    for (const email of emails) {
      expect((await h.request('POST', '/v1/spaces/default/users', { token: h.adminToken, body: { email, name: email, role: 'member' } })).status).toBe(201)
    }
    const duplicate = await h.request('POST', '/v1/spaces/default/users', { token: h.adminToken, body: { email: 'A@Example.com', name: 'x', role: 'member' } })
    expect(duplicate.status).toBe(409)
    expect(duplicate.body.error.message).toContain("'a@example.com' already exists")

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { body: { users: Array<{ email: string }>; nextCursor: string | null } } = await h.request(
        'GET',
        `/v1/spaces/default/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: h.adminToken },
      )
      seen.push(...page.body.users.map((user) => user.email))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(seen.sort()).toEqual([...emails].sort())

    const list = await h.request('GET', '/v1/spaces/default/users?limit=200', { token: h.adminToken })
    const target = list.body.users.find((user: { email: string }) => user.email === 'c@example.com')
    const patched = await h.request('PATCH', `/v1/spaces/default/users/${target.id}`, { token: h.adminToken, body: { role: 'reviewer', name: 'Cee' } })
    expect(patched.body).toMatchObject({ role: 'reviewer', name: 'Cee', email: 'c@example.com' })
    expect((await h.request('PATCH', `/v1/spaces/default/users/${target.id}`, { token: h.adminToken, body: {} })).status).toBe(400)
    expect((await h.request('DELETE', `/v1/spaces/default/users/${target.id}`, { token: h.adminToken })).status).toBe(204)
    expect((await h.request('GET', `/v1/spaces/default/users/${target.id}`, { token: h.adminToken })).status).toBe(404)
    const events = await h.request('GET', `/v1/spaces/default/audit?resourceId=${target.id}&limit=500`, { token: h.adminToken })
    expect(events.body.events.map((event: { event: string }) => event.event).reverse()).toEqual(['user/create', 'user/update', 'user/delete'])
  })
})

describe('groups', () => {
  it('gain and lose members; adding twice changes nothing; users show their groups', async () => {
    const user = await h.createUser('member')
    const group = await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: { name: 'support', description: 'Tier 1' } })
    expect(group.status).toBe(201)
    const url = `/v1/spaces/default/groups/${group.body.id}/members/${user.id}`
    expect((await h.request('PUT', url, { token: h.adminToken })).body.members).toEqual([user.id])
    expect((await h.request('PUT', url, { token: h.adminToken })).body.members).toEqual([user.id])
    const adds = await h.request('GET', `/v1/spaces/default/audit?event=group/member_add&resourceId=${group.body.id}`, { token: h.adminToken })
    expect(adds.body.events).toHaveLength(1)
    expect((await h.request('GET', `/v1/spaces/default/users/${user.id}`, { token: user.token })).body.groups).toEqual([group.body.id])
    expect((await h.request('DELETE', url, { token: h.adminToken })).body.members).toEqual([])
    expect((await h.request('DELETE', url, { token: h.adminToken })).status).toBe(404)
    expect((await h.request('PUT', `/v1/spaces/default/groups/${group.body.id}/members/usr_nobody`, { token: h.adminToken })).status).toBe(404)
    expect((await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: { name: 'support' } })).status).toBe(409)
  })
})

describe('service accounts', () => {
  it('lose their tokens when deleted', async () => {
    const account = await h.request('POST', '/v1/spaces/default/service-accounts', { token: h.adminToken, body: { name: 'uploader', role: 'member' } })
    const issued = await h.request('POST', `/v1/spaces/default/service-accounts/${account.body.id}/tokens`, { token: h.adminToken, body: { name: 'ci' } })
    expect((await h.request('GET', '/v1/spaces/default/auth/me', { token: issued.body.token })).body).toMatchObject({ kind: 'service_account', role: 'member' })
    expect((await h.request('DELETE', `/v1/spaces/default/service-accounts/${account.body.id}`, { token: h.adminToken })).status).toBe(204)
    expect((await h.request('GET', '/v1/spaces/default/auth/me', { token: issued.body.token })).status).toBe(401)
  })
})

describe('input that PostgreSQL cannot store', () => {
  it('a NUL character is a 400 that says so, not a server error', async () => {
    const body = await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: { name: 'a\u0000b' } })
    expect(body.status).toBe(400)
    expect(body.body.error.message).toContain('NUL')
    const query = await h.request('GET', '/v1/spaces/default/audit?event=a%00b', { token: h.adminToken })
    expect(query.status).toBe(400)
    expect(query.body.error.message).toContain('NUL')
  })
})
