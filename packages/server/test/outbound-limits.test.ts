import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, STORE, type Harness } from './harness.js'
import { askThroughDelegate, delegatePolicy, endlessEndpoint } from './outbound-helpers.js'
import { setUpVault } from './vault-harness.js'

let h: Harness
beforeAll(async () => {
  h = await createHarness({ outboundAllow: ['127.0.0.1/32'] })
})
afterAll(() => h.close())

const MB = 1024 * 1024

/** The endpoint's socket closes soon after the cap; bounded, so a client reading on forever fails the test. */
async function closedSoon(endpoint: { closed: boolean }): Promise<boolean> {
  for (let waited = 0; waited < 5000 && !endpoint.closed; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
  return endpoint.closed
}

describe(`an outbound answer is read as a stream and cut off at its cap, on ${STORE}`, () => {
  it('external ACL: an endless answer is acl_invalid_response, and its socket is closed after a few MB', async () => {
    const endpoint = await endlessEndpoint('{"employee_id":["')
    try {
      // A row to ask about, written through an ACL-free policy.
      const writer = await setUpVault(h, { employees: { actions: ['read', 'write'], acl: { source: 'none' } } })
      expect((await h.request('POST', '/api/models/employees', { token: writer.token, body: { employee_id: 'e1', first_name: 'a', deals_ratio: 1, yearly_spending: 1 } })).status).toBe(201)
      const guarded = await setUpVault(h, { employees: { actions: ['read'], acl: { source: 'external', url: endpoint.url('/filter'), timeoutMs: 10_000 } } }, null)
      const find = await h.request('POST', '/api/models/employees/find', { token: guarded.token, headers: { 'x-client-auth': 'Bearer u' }, body: {} })
      expect(find.status).toBe(502)
      expect(find.body.error).toMatchObject({ code: 'acl_invalid_response', message: 'the ACL answer is larger than 10485760 bytes; nothing was returned or written' })
      expect(endpoint.calls).toBe(1)
      expect(await closedSoon(endpoint)).toBe(true)
      expect(endpoint.written).toBeLessThan(64 * MB)
    } finally {
      await endpoint.close()
    }
  })

  it('delegate: an endless answer is a failure that leaves the petition to people, and its socket is closed early', async () => {
    const endpoint = await endlessEndpoint('{"decision":"approve","reason":"')
    const id = await delegatePolicy(h, 'endless delegate', endpoint.url('/decide'), 'endless', 10_000)
    try {
      const asked = await askThroughDelegate(h, 'c_endless', 'endless')
      expect(asked.status).toBe('waiting')
      expect(asked.why).toBe('decision endpoint failed: its answer is larger than 65536 bytes')
      expect(await closedSoon(endpoint)).toBe(true)
      expect(endpoint.written).toBeLessThan(16 * MB)
    } finally {
      await h.request('DELETE', `/v1/spaces/default/policies/${id}`, { token: h.adminToken })
      await endpoint.close()
    }
  })
})

describe(`outbound URLs in the audit log lose their query string and userinfo, on ${STORE}`, () => {
  it('a vault policy ACL URL: redacted in the audit event, shown whole to the admins who read the policy', async () => {
    const url = 'http://127.0.0.1:1/filter-endpoint?token=acl-query-secret'
    const created = await h.request('POST', '/v1/spaces/default/vault/policies', {
      token: h.adminToken,
      body: { name: 'acl with a token', rules: { employees: { actions: ['read'], acl: { source: 'external', url } } } },
    })
    expect(created.status, created.text).toBe(201)
    const events = await h.request('GET', `/v1/spaces/default/audit?event=vault/policy_create&resourceId=${created.body.id}`, { token: h.adminToken })
    expect(events.body.events).toHaveLength(1)
    expect(events.body.events[0].meta.rules.employees.acl.url).toBe('http://127.0.0.1:1/filter-endpoint?…')
    expect(events.text).not.toContain('acl-query-secret')
    // The policy itself is the admin's configuration: it reads back as saved.
    const read = await h.request('GET', `/v1/spaces/default/vault/policies/${created.body.id}`, { token: h.adminToken })
    expect(read.body.rules.employees.acl.url).toBe(url)
  })

  it('a delegate URL: redacted in the policy events and as the actor of its decisions', async () => {
    const url = 'http://127.0.0.1:1/decide?key=delegate-query-secret'
    const id = await delegatePolicy(h, 'delegate with a key', url, 'keyed')
    try {
      await h.request('PUT', `/v1/spaces/default/policies/${id}`, {
        token: h.adminToken,
        body: { name: 'delegate with a key', priority: 1, match: { resourceKinds: ['customer'], labels: { plan: 'keyed' } }, decision: { type: 'delegate', url, timeoutMs: 500 } },
      })
      const asked = await askThroughDelegate(h, 'c_keyed', 'keyed')
      expect(asked.status, asked.text).toBe('waiting')
      expect(asked.actor).toMatchObject({ kind: 'system', id: 'delegate', display: 'http://127.0.0.1:1/decide?…' })
      // Petitioners and reviewers read the petition: its rule shows the decision without the URL.
      const petitions = await h.request('GET', '/v1/spaces/default/petitions?limit=100', { token: h.adminToken })
      const petition = petitions.body.petitions.find((p: { resources: Array<{ id: string }> }) => p.resources[0]?.id === 'c_keyed')
      expect(petition.rule.decision).toEqual({ type: 'delegate', timeoutMs: 500 })
      expect(asked.text).not.toContain('delegate-query-secret')
      expect(petitions.text).not.toContain('delegate-query-secret')
      const audit = await h.request('GET', '/v1/spaces/default/audit?limit=100', { token: h.adminToken })
      const policyEvents = audit.body.events.filter((event: { event: string; resources: Array<{ id: string }> }) => ['policy/create', 'policy/update'].includes(event.event) && event.resources[0]?.id === id)
      expect(policyEvents).toHaveLength(2)
      for (const event of policyEvents) expect(event.meta.policy.decision.url).toBe('http://127.0.0.1:1/decide?…')
      expect(audit.text).not.toContain('delegate-query-secret')
    } finally {
      await h.request('DELETE', `/v1/spaces/default/policies/${id}`, { token: h.adminToken })
    }
  })
})
