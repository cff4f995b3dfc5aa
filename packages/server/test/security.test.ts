import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'

/**
 * Driven by the route table the app itself records: a route added later is covered here without
 * anyone remembering to add it.
 */
let h: Harness
let otherSpaceAdmin: string
let member: string

beforeAll(async () => {
  h = await createHarness()
  otherSpaceAdmin = await h.createSpace('other')
  member = (await h.createUser('member')).token
})
afterAll(() => h.close())

const fill = (url: string) => url.replaceAll('::', '\u0000').replace(/:space/g, 'default').replace(/:[A-Za-z]+(\([^)]*\))?/g, 'x_1').replaceAll('\u0000', ':')

describe('route table', () => {
  it('every /v1 route declares its access, and only the expected ones are public', () => {
    const v1 = h.built.routes.filter((route) => route.url.startsWith('/v1/'))
    expect(v1.length).toBeGreaterThan(20)
    const publicRoutes = v1.filter((route) => route.access && 'public' in route.access).map((route) => `${route.method} ${route.url}`)
    expect(publicRoutes.sort()).toEqual(['GET /v1/audit/signing-key', 'POST /v1/spaces/:space/auth::signIn'])
  })

  it('every protected route refuses a request without a token, with a malformed header, and with an unknown token', async () => {
    const protectedRoutes = h.built.routes.filter((route) => route.access && !('public' in route.access))
    for (const route of protectedRoutes) {
      const url = fill(route.url)
      const missing = await h.request(route.method, url)
      expect(missing.status, `${route.method} ${url} without a token`).toBe(401)
      expect(missing.body.error.code).toBe('unauthenticated')
      const malformed = await h.request(route.method, url, { headers: { authorization: 'Basic abc' } })
      expect(malformed.status, `${route.method} ${url} with Basic auth`).toBe(401)
      const unknown = await h.request(route.method, url, { token: 'ghs_notarealtoken' })
      expect(unknown.status, `${route.method} ${url} with an unknown token`).toBe(401)
    }
  })

  it("every space route answers another space's admin token as if the space did not exist", async () => {
    const spaceRoutes = h.built.routes.filter((route) => route.access && !('public' in route.access) && route.url.includes(':space'))
    expect(spaceRoutes.length).toBeGreaterThan(15)
    for (const route of spaceRoutes) {
      const url = fill(route.url)
      const response = await h.request(route.method, url, { token: otherSpaceAdmin })
      expect(response.status, `${route.method} ${url} with another space's token`).toBe(404)
      expect(response.body.error).toMatchObject({ code: 'not_found', message: "space 'default' not found" })
    }
    const nowhere = await h.request('GET', '/v1/spaces/nowhere', { token: h.adminToken })
    expect(nowhere.body.error.message).toBe("space 'nowhere' not found")
  })

  it('every route that needs more than the member role refuses a member', async () => {
    const privileged = h.built.routes.filter((route) => route.access && 'role' in route.access && route.access.role !== 'member')
    expect(privileged.length).toBeGreaterThan(10)
    for (const route of privileged) {
      const url = fill(route.url)
      const response = await h.request(route.method, url, { token: member })
      expect(response.status, `${route.method} ${url} as a member`).toBe(403)
      expect(response.body.error.code).toBe('forbidden')
    }
  })

  it('a member can use the routes meant for members', async () => {
    const open = h.built.routes.filter((route) => route.method === 'GET' && route.access && 'role' in route.access && route.access.role === 'member')
    expect(open.length).toBeGreaterThan(3)
    for (const route of open) {
      const response = await h.request('GET', fill(route.url), { token: member })
      expect([200, 404], `${route.url} as a member`).toContain(response.status)
      if (response.status === 404) expect(response.body.error.message).not.toContain('space')
    }
  })
})
