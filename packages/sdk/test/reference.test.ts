/**
 * Reference 000 (Indent's Approval Kit) as written, with only the package name changed: the
 * admin portal asks on behalf of its signed-in staff user with a service-account token.
 */
import { approval, getErrorKind } from '@gatehouse/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listeningHarness, serviceAccountToken } from './listen.js'

type Ctx = { user: { id: string; email: string } }
const getCurrentUser = async (ctx: Ctx) => ctx.user

// ---- verbatim from the reference, import renamed ----
async function requestCustomerAccess(ctx: Ctx, customerId: string) {
  try {
    const user = await getCurrentUser(ctx)

    await approval({
      petitioners: [{ kind: 'user', id: user.id, email: user.email }],
      resources: [{ kind: 'customer', id: customerId }]
    })

    return { ok: true }
  } catch (err) {
    switch (getErrorKind(err)) {
      case 'waiting':
        // Once granted, it will auto-approve next time
        return { ok: false, status: 'waiting' }
      case 'denied':
        // Denied by reviewer or policy
        return { ok: false, status: 'denied' }
      default:
        console.error(err)
        return { ok: false, status: 'unknown' }
    }
  }
}
// ---- end of the reference ----

let h: Awaited<ReturnType<typeof listeningHarness>>
let reviewer: { token: string }
const staff: Ctx = { user: { id: 'u_123', email: 'support@example.com' } }
const saved = { ...process.env }

beforeAll(async () => {
  h = await listeningHarness()
  reviewer = await h.createUser('reviewer')
  await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', {
    token: h.adminToken,
    body: { resources: ['c_1', 'c_2', 'c_3'].map((id) => ({ kind: 'customer', id, displayName: id, labels: { plan: 'pro' } })) },
  })
  process.env.GATEHOUSE_URL = h.url
  process.env.GATEHOUSE_SPACE = 'default'
  process.env.GATEHOUSE_API_TOKEN = await serviceAccountToken(h, ['access:request'], 'member')
  process.env.GATEHOUSE_APPROVAL_WAIT_MS = '0'
})
afterAll(async () => {
  process.env = saved
  await h.close()
})

const petitionsFor = async (customer: string) =>
  (await h.request('GET', `/v1/spaces/default/petitions?limit=200`, { token: h.adminToken })).body.petitions.filter(
    (petition: { resources: Array<{ id: string }> }) => petition.resources[0]!.id === customer,
  )

describe("the reference's requestCustomerAccess", () => {
  it('waits, then answers ok once a reviewer approves, without a new petition', async () => {
    expect(await requestCustomerAccess(staff, 'c_1')).toEqual({ ok: false, status: 'waiting' })
    const [petition] = await petitionsFor('c_1')
    await h.request('POST', `/v1/spaces/default/petitions/${petition.id}:review`, { token: reviewer.token, body: { decision: 'approve', durationSeconds: 3600 } })
    expect(await requestCustomerAccess(staff, 'c_1')).toEqual({ ok: true })
    expect(await requestCustomerAccess(staff, 'c_1')).toEqual({ ok: true })
    expect(await petitionsFor('c_1')).toHaveLength(1)
  })

  it('answers denied after a reviewer denies', async () => {
    expect(await requestCustomerAccess(staff, 'c_2')).toEqual({ ok: false, status: 'waiting' })
    const [petition] = await petitionsFor('c_2')
    await h.request('POST', `/v1/spaces/default/petitions/${petition.id}:review`, { token: reviewer.token, body: { decision: 'deny', comment: 'no ticket' } })
    expect(await requestCustomerAccess(staff, 'c_2')).toEqual({ ok: false, status: 'denied' })
  })

  it('waits again, with a new petition, after the grant expires', async () => {
    await requestCustomerAccess(staff, 'c_3')
    const [petition] = await petitionsFor('c_3')
    await h.request('POST', `/v1/spaces/default/petitions/${petition.id}:review`, { token: reviewer.token, body: { decision: 'approve', durationSeconds: 60 } })
    expect(await requestCustomerAccess(staff, 'c_3')).toEqual({ ok: true })
    h.advanceClock(61_000)
    try {
      expect(await requestCustomerAccess(staff, 'c_3')).toEqual({ ok: false, status: 'waiting' })
      const petitions = await petitionsFor('c_3')
      expect(petitions).toHaveLength(2)
      expect(petitions.map((p: { state: string }) => p.state).sort()).toEqual(['granted', 'open'])
    } finally {
      h.advanceClock(-61_000)
    }
  })

  it('never answers waiting for a failure of another kind', async () => {
    const token = process.env.GATEHOUSE_API_TOKEN
    process.env.GATEHOUSE_API_TOKEN = 'ghs_wrong'
    const errors: unknown[] = []
    const original = console.error
    console.error = (err: unknown) => errors.push(err)
    try {
      expect(await requestCustomerAccess(staff, 'c_1')).toEqual({ ok: false, status: 'unknown' })
      process.env.GATEHOUSE_API_TOKEN = token
      process.env.GATEHOUSE_URL = 'http://127.0.0.1:9' // nothing listens on the discard port
      expect(await requestCustomerAccess(staff, 'c_1')).toEqual({ ok: false, status: 'unknown' })
    } finally {
      console.error = original
      process.env.GATEHOUSE_API_TOKEN = token
      process.env.GATEHOUSE_URL = h.url
    }
    expect(errors.map((error) => getErrorKind(error))).toEqual(['unauthenticated', 'connection'])
  })
})
