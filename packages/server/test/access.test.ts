import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'

let h: Harness
let portal: string // the application's service-account token (asks on behalf of its users)
let reviewer: { id: string; email: string; token: string }
let staff: { id: string; email: string; token: string }

beforeAll(async () => {
  h = await createHarness()
  const account = await h.request('POST', '/v1/spaces/default/service-accounts', { token: h.adminToken, body: { name: 'portal', role: 'member' } })
  portal = (await h.request('POST', `/v1/spaces/default/service-accounts/${account.body.id}/tokens`, { token: h.adminToken, body: { name: 'portal', scopes: ['access:request', 'access:read'] } })).body.token
  reviewer = await h.createUser('reviewer')
  staff = await h.createUser('member')
  const customers = Array.from({ length: 30 }, (_, i) => ({ kind: 'customer', id: `c_${i}`, displayName: `Customer ${i}`, labels: { plan: i < 10 ? 'enterprise' : 'free' } }))
  expect((await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources: customers } })).status).toBe(200)
})
afterAll(() => h.close())

const ask = (customer: string, extra: Record<string, unknown> = {}, petitioner = staff) =>
  h.request('POST', '/v1/spaces/default/approvals', {
    token: portal,
    body: { petitioners: [{ kind: 'user', id: petitioner.id, email: petitioner.email }], resources: [{ kind: 'customer', id: customer }], ...extra },
  })

const reviewAs = (token: string, petitionId: string, body: Record<string, unknown>) =>
  h.request('POST', `/v1/spaces/default/petitions/${petitionId}:review`, { token, body })

async function policy(body: Record<string, unknown>) {
  const created = await h.request('POST', '/v1/spaces/default/policies', { token: h.adminToken, body })
  expect(created.status, created.text).toBe(201)
  return created.body.id as string
}

describe('approval()', () => {
  it('waits, then is granted by a reviewer, then auto-approves without a new petition', async () => {
    const first = await ask('c_20')
    expect(first.status).toBe(200)
    expect(first.body.status).toBe('waiting')
    const again = await ask('c_20')
    expect(again.body.petition.id).toBe(first.body.petition.id)

    const approved = await reviewAs(reviewer.token, first.body.petition.id, { decision: 'approve', durationSeconds: 7200, comment: 'ticket 42' })
    expect(approved.status, approved.text).toBe(200)
    expect(approved.body.state).toBe('granted')
    const granted = await ask('c_20')
    expect(granted.body.status).toBe('granted')
    expect(granted.body.petition).toBeNull()
    expect(granted.body.grants).toHaveLength(1)
    const window = Date.parse(granted.body.grants[0].expiresAt) - Date.parse(granted.body.grants[0].startsAt)
    expect(window).toBe(7200_000)
    const petitions = await h.request('GET', `/v1/spaces/default/petitions?petitioner=${staff.email}&limit=200`, { token: h.adminToken })
    expect(petitions.body.petitions.filter((p: { resources: Array<{ id: string }> }) => p.resources[0]!.id === 'c_20')).toHaveLength(1)
  })

  it('answers denied after a deny, and waiting with a new petition after the grant expires', async () => {
    const denied = await ask('c_21')
    await reviewAs(reviewer.token, denied.body.petition.id, { decision: 'deny', comment: 'no ticket' })
    const after = await ask('c_21')
    expect(after.body.status).toBe('denied')
    expect(after.body.petition.decisionComment).toBe('no ticket')

    const asked = await ask('c_22')
    await reviewAs(reviewer.token, asked.body.petition.id, { decision: 'approve', durationSeconds: 600 })
    expect((await ask('c_22')).body.status).toBe('granted')
    h.advanceClock(601_000)
    try {
      const expired = await ask('c_22')
      expect(expired.body.status).toBe('waiting')
      expect(expired.body.petition.id).not.toBe(asked.body.petition.id)
    } finally {
      h.advanceClock(-601_000)
    }
  })

  it('makes exactly one petition for 20 concurrent calls', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => ask('c_23')))
    expect(results.every((result) => result.status === 200 && result.body.status === 'waiting')).toBe(true)
    expect(new Set(results.map((result) => result.body.petition.id)).size).toBe(1)
    const { rows } = await h.db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM petitions WHERE resources @> '[{"id":"c_23"}]'`)
    expect(rows[0]!.n).toBe(1)
  })

  it('long-polls: a decision during the wait answers granted', async () => {
    const first = await ask('c_24')
    setTimeout(() => void reviewAs(reviewer.token, first.body.petition.id, { decision: 'approve' }), 300)
    const started = Date.now()
    const waited = await ask('c_24', { waitMs: 10_000 })
    expect(waited.body.status).toBe('granted')
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('refuses unknown resources and people asking for someone else', async () => {
    const unknown = await ask('c_nope')
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.message).toContain('customer:c_nope')
    const other = await h.request('POST', '/v1/spaces/default/approvals', {
      token: staff.token,
      body: { petitioners: [{ kind: 'user', id: 'x', email: reviewer.email }], resources: [{ kind: 'customer', id: 'c_25' }] },
    })
    expect(other.status).toBe(403)
    const self = await h.request('POST', '/v1/spaces/default/approvals', {
      token: staff.token,
      body: { petitioners: [{ kind: 'user', id: staff.id, email: staff.email }], resources: [{ kind: 'customer', id: 'c_25' }] },
    })
    expect(self.body.status).toBe('waiting')
  })
})

describe('reviews', () => {
  it('refuse self-approval, a second review by the same person, and a decided petition', async () => {
    const selfAsked = await ask('c_26', {}, reviewer)
    const self = await reviewAs(reviewer.token, selfAsked.body.petition.id, { decision: 'approve' })
    expect(self.status).toBe(403)
    expect(self.body.error.message).toContain('self-approval')
    const member = await reviewAs(staff.token, selfAsked.body.petition.id, { decision: 'approve' })
    expect(member.status).toBe(403)
    const admin = await h.createUser('admin')
    expect((await reviewAs(admin.token, selfAsked.body.petition.id, { decision: 'approve' })).body.state).toBe('granted')
    expect((await reviewAs(admin.token, selfAsked.body.petition.id, { decision: 'deny' })).status).toBe(409)
  })
})

describe('grants', () => {
  it('revoked: stops working at once and the next approval waits again', async () => {
    const asked = await ask('c_27')
    await reviewAs(reviewer.token, asked.body.petition.id, { decision: 'approve' })
    const granted = await ask('c_27')
    const revoke = await h.request('POST', `/v1/spaces/default/grants/${granted.body.grants[0].id}:revoke`, { token: reviewer.token })
    expect(revoke.status).toBe(200)
    expect(revoke.body.revokedAt).not.toBeNull()
    expect((await ask('c_27')).body.status).toBe('waiting')
    const active = await h.request('GET', `/v1/spaces/default/grants?resourceId=c_27&active=true`, { token: h.adminToken })
    expect(active.body.grants).toHaveLength(0)
  })

  it('extended: the extension starts where the grant ends', async () => {
    const asked = await ask('c_28')
    await reviewAs(reviewer.token, asked.body.petition.id, { decision: 'approve', durationSeconds: 3600 })
    const grant = (await ask('c_28')).body.grants[0]
    const extension = await h.request('POST', `/v1/spaces/default/grants/${grant.id}:extend`, { token: staff.token, body: { durationSeconds: 1800, reason: 'not done yet' } })
    expect(extension.status, extension.text).toBe(201)
    await reviewAs(reviewer.token, extension.body.id, { decision: 'approve' })
    const all = await h.request('GET', `/v1/spaces/default/grants?resourceId=c_28`, { token: h.adminToken })
    const next = all.body.grants.find((g: { petitionId: string }) => g.petitionId === extension.body.id)
    expect(next.startsAt).toBe(grant.expiresAt)
    expect(Date.parse(next.expiresAt) - Date.parse(next.startsAt)).toBe(1800_000)
  })

  it('a requested start time is kept: not active before it', async () => {
    const startsAt = new Date(Date.now() + 3600_000).toISOString()
    const asked = await ask('c_29', { startsAt, durationSeconds: 600 })
    await reviewAs(reviewer.token, asked.body.petition.id, { decision: 'approve' })
    const early = await ask('c_29', { startsAt, durationSeconds: 600 })
    expect(early.body.status).toBe('waiting')
    expect(early.body.petition.id).toBe(asked.body.petition.id)
    h.advanceClock(3601_000)
    try {
      expect((await ask('c_29', { startsAt, durationSeconds: 600 })).body.status).toBe('granted')
    } finally {
      h.advanceClock(-3601_000)
    }
  })
})

describe('policies', () => {
  let decisionEndpoint: Server
  let answer: (body: unknown) => { status: number; body: string; delayMs?: number }
  let endpointUrl: string

  beforeAll(async () => {
    decisionEndpoint = createServer((req, res) => {
      let raw = ''
      req.on('data', (chunk) => (raw += chunk))
      req.on('end', () => {
        const reply = answer(JSON.parse(raw))
        setTimeout(() => res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body), reply.delayMs ?? 0)
      })
    })
    await new Promise<void>((resolve) => decisionEndpoint.listen(0, '127.0.0.1', resolve))
    endpointUrl = `http://127.0.0.1:${(decisionEndpoint.address() as AddressInfo).port}/decide`
  })
  afterAll(() => new Promise<void>((resolve) => decisionEndpoint.close(() => resolve())))

  it('auto-approve, capped by the policy maximum; auto-deny; first match wins', async () => {
    const approve = await policy({ name: 'enterprise auto', priority: 10, match: { resourceKinds: ['customer'], labels: { plan: 'enterprise' } }, decision: { type: 'auto_approve', durationSeconds: 86400 }, maxDurationSeconds: 1800 })
    const deny = await policy({ name: 'everything else denied', priority: 20, match: { resourceKinds: ['customer'], labels: { plan: 'free' } }, decision: { type: 'auto_deny', reason: 'free plan' } })
    try {
      const auto = await ask('c_1')
      expect(auto.body.status).toBe('granted')
      expect(Date.parse(auto.body.grants[0].expiresAt) - Date.parse(auto.body.grants[0].startsAt)).toBe(1800_000)
      expect(auto.body.petition.rule.policyName).toBe('enterprise auto')
      const denied = await ask('c_11')
      expect(denied.body.status).toBe('denied')
      expect(denied.body.petition.decisionComment).toBe('free plan')
    } finally {
      await h.request('DELETE', `/v1/spaces/default/policies/${approve}`, { token: h.adminToken })
      await h.request('DELETE', `/v1/spaces/default/policies/${deny}`, { token: h.adminToken })
    }
  })

  it('N-of-M: two distinct approvals from the listed group', async () => {
    const second = await h.createUser('reviewer')
    const group = await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: { name: 'leads' } })
    for (const user of [reviewer, second]) await h.request('PUT', `/v1/spaces/default/groups/${group.body.id}/members/${user.id}`, { token: h.adminToken })
    const id = await policy({ name: 'two leads', priority: 5, match: { labels: { plan: 'enterprise' } }, decision: { type: 'review', reviewers: { groups: [group.body.id] }, approvalsRequired: 2 } })
    try {
      const asked = await ask('c_2')
      expect((await reviewAs(reviewer.token, asked.body.petition.id, { decision: 'approve' })).body.state).toBe('open')
      const outsider = await h.createUser('admin')
      expect((await reviewAs(outsider.token, asked.body.petition.id, { decision: 'approve' })).status).toBe(403)
      expect((await reviewAs(second.token, asked.body.petition.id, { decision: 'approve' })).body.state).toBe('granted')
    } finally {
      await h.request('DELETE', `/v1/spaces/default/policies/${id}`, { token: h.adminToken })
    }
  })

  it('break-glass: only where a policy allows it, granted at once for the cap, flagged in the audit log', async () => {
    const refused = await ask('c_3', { emergency: true, reason: 'outage' })
    expect(refused.status).toBe(403)
    expect(refused.body.error.message).toContain('break-glass')
    const id = await policy({ name: 'on-call', priority: 1, match: { labels: { plan: 'enterprise' } }, decision: { type: 'review' }, emergency: { allowed: true, maxDurationSeconds: 900 } })
    try {
      expect((await ask('c_3', { emergency: true })).status).toBe(400)
      const granted = await h.request('POST', '/v1/spaces/default/petitions', {
        token: portal,
        body: { petitioners: [{ kind: 'user', id: staff.id, email: staff.email }], resources: [{ kind: 'customer', id: 'c_3' }], emergency: true, reason: 'outage', durationSeconds: 7200 },
      })
      expect(granted.body.state).toBe('granted')
      const grant = (await ask('c_3')).body.grants[0]
      expect(grant.emergency).toBe(true)
      expect(Date.parse(grant.expiresAt) - Date.parse(grant.startsAt)).toBe(900_000)
      const flagged = await h.request('GET', '/v1/spaces/default/audit?event=access/emergency_grant', { token: h.adminToken })
      expect(flagged.body.events.some((event: { meta: { petitionId: string } }) => event.meta.petitionId === granted.body.id)).toBe(true)
    } finally {
      await h.request('DELETE', `/v1/spaces/default/policies/${id}`, { token: h.adminToken })
    }
  })

  it('delegate: the endpoint decides; on timeout or a bad answer, human review — never approval', async () => {
    const id = await policy({ name: 'ask the app', priority: 1, match: { labels: { plan: 'enterprise' } }, decision: { type: 'delegate', url: endpointUrl, timeoutMs: 300 } })
    try {
      answer = () => ({ status: 200, body: JSON.stringify({ decision: 'approve', durationSeconds: 900 }) })
      expect((await ask('c_4')).body.status).toBe('granted')
      answer = () => ({ status: 200, body: JSON.stringify({ decision: 'deny', reason: 'not on call' }) })
      expect((await ask('c_5')).body.status).toBe('denied')
      for (const [customer, reply] of [
        ['c_6', { status: 200, body: '{}', delayMs: 1000 }],
        ['c_7', { status: 500, body: '{}' }],
        ['c_8', { status: 200, body: JSON.stringify({ decision: 'approve', durationSeconds: 'forever' }) }],
        ['c_9', { status: 200, body: 'yes' }],
      ] as const) {
        answer = () => reply
        const outcome = await ask(customer)
        expect(outcome.body.status, customer).toBe('waiting')
        const fellBack = await h.request('GET', `/v1/spaces/default/audit?event=access/delegate_review&resourceId=${customer}`, { token: h.adminToken })
        expect(fellBack.body.events, customer).toHaveLength(1)
      }
    } finally {
      await h.request('DELETE', `/v1/spaces/default/policies/${id}`, { token: h.adminToken })
    }
  })
})

describe('expiry', () => {
  it('is announced once, in the audit log and the outbox, after the grant ends', async () => {
    const endpoint = await h.request('POST', '/v1/spaces/default/webhooks', { token: h.adminToken, body: { url: 'http://127.0.0.1:9/hooks', events: ['access/expire'] } })
    expect(endpoint.status, endpoint.text).toBe(201)
    const asked = await ask('c_12')
    await reviewAs(reviewer.token, asked.body.petition.id, { decision: 'approve', durationSeconds: 60 })
    const grant = (await ask('c_12')).body.grants[0]
    expect(await h.built.services.approvals.announceExpiries()).toBe(0)
    h.advanceClock(61_000)
    try {
      expect(await h.built.services.approvals.announceExpiries()).toBeGreaterThanOrEqual(1)
      expect(await h.built.services.approvals.announceExpiries()).toBe(0)
    } finally {
      h.advanceClock(-61_000)
    }
    const events = await h.request('GET', `/v1/spaces/default/audit?event=access/expire&resourceId=c_12`, { token: h.adminToken })
    expect(events.body.events).toHaveLength(1)
    expect(events.body.events[0].meta.grantId).toBe(grant.id)
    const outbox = await h.db.query<{ n: number }>(
      `SELECT count(*)::int8 AS n FROM webhook_messages WHERE type = 'access/expire' AND payload::text LIKE '%' || $1 || '%'`,
      [grant.id],
    )
    expect(outbox.rows[0]!.n).toBe(1)
  })
})
