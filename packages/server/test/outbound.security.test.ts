import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, STORE, type Harness } from './harness.js'
import { askThroughDelegate, closedPort, delegatePolicy, nonHttpListeners } from './outbound-helpers.js'
import { EMPLOYEES, startFilterEndpoint } from './vault-harness.js'
import { createEndpoint, deliveriesOf, enqueue, freshSpace, runUntil, startReceiver, testWorker } from './webhooks-helpers.js'

const auth = { 'x-client-auth': 'Bearer user-token' }

/** Every notation of a refused address a security review tried, and the words of the rule that refuses it. */
const REFUSED: Array<[string, string]> = [
  ['http://169.254.169.254/latest/meta-data/', 'cloud metadata addresses are always refused'],
  ['http://0xa9fea9fe/latest/meta-data/', 'cloud metadata addresses are always refused'],
  ['http://metadata.google.internal/computeMetadata/v1/', 'cloud metadata addresses are always refused'],
  ['http://[fd00:ec2::254]/latest/', 'cloud metadata addresses are always refused'],
  ['http://100.100.100.200/latest/', 'cloud metadata addresses are always refused'],
  ['http://169.254.10.1/', 'link-local addresses'],
  ['http://[fe80::1]/', 'link-local addresses'],
  ['http://[::1]:8080/', 'loopback addresses are refused unless GATEHOUSE_OUTBOUND_ALLOW allows them'],
  ['http://0x7f000001/', 'loopback addresses are refused unless GATEHOUSE_OUTBOUND_ALLOW allows them'],
  ['http://2130706433/', 'loopback addresses are refused unless GATEHOUSE_OUTBOUND_ALLOW allows them'],
  ['http://127.1:5432/', 'loopback addresses are refused unless GATEHOUSE_OUTBOUND_ALLOW allows them'],
  ['http://[::ffff:127.0.0.1]/', 'loopback addresses are refused unless GATEHOUSE_OUTBOUND_ALLOW allows them'],
  ['http://localhost:5432/', 'loopback addresses are refused unless GATEHOUSE_OUTBOUND_ALLOW allows them'],
  ['http://10.1.2.3/', 'private network addresses are refused unless GATEHOUSE_OUTBOUND_ALLOW allows them'],
  ['http://172.16.0.1/', 'private network addresses'],
  ['http://192.168.1.1/', 'private network addresses'],
  ['http://100.64.0.1/', 'private network addresses'],
  ['http://[fc00::1]/', 'private network addresses'],
  ['http://0.0.0.0:5432/', 'unspecified, multicast and reserved addresses are always refused'],
  ['http://hooks:pw@hooks.example.com/in', 'must not contain a user name or password'],
]

describe(`outbound URLs are checked when they are saved, on ${STORE}`, () => {
  let strict: Harness
  beforeAll(async () => {
    strict = await createHarness({ outboundAllow: [] })
  })
  afterAll(() => strict.close())

  it('webhook endpoints: metadata, link-local, loopback and private hosts, in any notation, are a 400 naming the rule', async () => {
    for (const [url, words] of REFUSED) {
      const created = await strict.request('POST', '/v1/spaces/default/webhooks', { token: strict.adminToken, body: { url } })
      expect(created.status, url).toBe(400)
      expect(created.body.error.code, url).toBe('bad_request')
      expect(created.body.error.message, url).toContain(words)
    }
    const ok = await strict.request('POST', '/v1/spaces/default/webhooks', { token: strict.adminToken, body: { url: 'https://hooks.example.com/in?token=abc' } })
    expect(ok.status, ok.text).toBe(201)
    const patched = await strict.request('PATCH', `/v1/spaces/default/webhooks/${ok.body.id}`, { token: strict.adminToken, body: { url: 'http://0x7f000001:5432/' } })
    expect(patched.status).toBe(400)
    expect(patched.body.error.message).toBe('url points at a refused address: loopback addresses are refused unless GATEHOUSE_OUTBOUND_ALLOW allows them')
  })

  it('vault ACL URLs and delegate URLs: the same rules, the message naming the field', async () => {
    for (const [url, words] of REFUSED.filter((_, i) => i % 3 === 0)) {
      const vault = await strict.request('POST', '/v1/spaces/default/vault/policies', {
        token: strict.adminToken,
        body: { name: `acl-${Math.random().toString(36).slice(2)}`, rules: { employees: { actions: ['read'], acl: { source: 'external', url } } } },
      })
      expect(vault.status, url).toBe(400)
      expect(vault.body.error.message, url).toContain('rules.employees.acl.url')
      expect(vault.body.error.message, url).toContain(words)
      const delegate = await strict.request('POST', '/v1/spaces/default/policies', {
        token: strict.adminToken,
        body: { name: `delegate-${Math.random().toString(36).slice(2)}`, priority: 1, match: {}, decision: { type: 'delegate', url } },
      })
      expect(delegate.status, url).toBe(400)
      expect(delegate.body.error.message, url).toContain('decision.url')
      expect(delegate.body.error.message, url).toContain(words)
    }
  })

  it('checks again when it connects: a URL stored before the policy (or pointing elsewhere since) reaches nothing', async () => {
    const rx = await startReceiver()
    const acl = await startFilterEndpoint()
    acl.answer = () => ({ status: 200, body: JSON.stringify({ employee_id: '*' }) })
    try {
      // A webhook endpoint saved as public, then (as an older version could have saved it) pointed at loopback.
      const { space, token } = await freshSpace(strict)
      const endpoint = await createEndpoint(strict, space, token, { url: 'https://hooks.example.com/in' })
      await strict.db.query('UPDATE webhook_endpoints SET url = $1 WHERE space_id = $2 AND id = $3', [rx.url(), space, endpoint.id])
      await enqueue(strict, space, 'access/grant')
      const worker = testWorker(strict, { schedule: [0] })
      await runUntil(worker, async () => (await deliveriesOf(strict, space, token, endpoint.id))[0]?.state === 'failed')
      const [delivery] = await deliveriesOf(strict, space, token, endpoint.id)
      const detail = await strict.request('GET', `/v1/spaces/${space}/webhooks/${endpoint.id}/deliveries/${delivery!.id}`, { token })
      expect(detail.body.attempts[0]).toMatchObject({ statusCode: null, error: 'the endpoint could not be reached' })
      expect(rx.received).toHaveLength(0)

      // The same for an external ACL.
      const { findToken } = await vaultWithStoredAcl(strict, acl.url)
      const find = await strict.request('POST', '/api/models/employees/find', { token: findToken, headers: auth, body: {} })
      expect(find.status).toBe(502)
      expect(find.body.error).toMatchObject({ code: 'acl_unreachable', message: 'the ACL filter endpoint could not be reached; nothing was returned or written' })
      expect(acl.calls).toHaveLength(0)
    } finally {
      await rx.close()
      await acl.close()
    }
  })

  it('link-local and metadata stay refused even when GATEHOUSE_OUTBOUND_ALLOW lists them; listed loopback is accepted', async () => {
    const lax = await createHarness({ outboundAllow: ['169.254.0.0/16', '100.100.100.200/32', 'fd00:ec2::/32', '127.0.0.0/8', 'metadata.google.internal'] })
    try {
      for (const [url, words] of REFUSED.slice(0, 7)) {
        const created = await lax.request('POST', '/v1/spaces/default/webhooks', { token: lax.adminToken, body: { url } })
        expect(created.status, url).toBe(400)
        expect(created.body.error.message, url).toContain(words)
      }
      for (const url of ['http://127.0.0.1:3001/in', 'http://0x7f000001/in', 'http://localhost:3001/in']) {
        expect((await lax.request('POST', '/v1/spaces/default/webhooks', { token: lax.adminToken, body: { url } })).status, url).toBe(201)
      }
    } finally {
      await lax.close()
    }
  })
})

/**
 * A vault whose reading policy's ACL URL was stored as `url` (bypassing today's save-time check, as
 * a row written by an older version would be), with one row written through an ACL-free policy.
 */
async function vaultWithStoredAcl(h: Harness, url: string): Promise<{ findToken: string }> {
  const admin = { token: h.adminToken }
  const model = await h.request('POST', '/v1/spaces/default/vault/models', { ...admin, body: EMPLOYEES })
  if (model.status !== 201 && model.status !== 409) throw new Error(`model: ${model.status} ${model.text}`)
  const tokenFor = async (rules: Record<string, unknown>, storedUrl?: string) => {
    const policy = await h.request('POST', '/v1/spaces/default/vault/policies', { ...admin, body: { name: `p-${Math.random().toString(36).slice(2)}`, rules } })
    expect(policy.status, policy.text).toBe(201)
    if (storedUrl) {
      const stored = { employees: { actions: ['read'], acl: { source: 'external', url: storedUrl, timeoutMs: 2000 } } }
      await h.db.query('UPDATE vault_access_policies SET rules = $1::jsonb WHERE id = $2', [JSON.stringify(stored), policy.body.id])
    }
    const client = await h.request('POST', '/v1/spaces/default/vault/clients', { ...admin, body: { name: 'c', policyId: policy.body.id } })
    const token = await h.request('POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id: client.body.clientId, client_secret: client.body.clientSecret } })
    return token.body.access_token as string
  }
  const writer = await tokenFor({ employees: { actions: ['read', 'write'], acl: { source: 'none' } } })
  const row = await h.request('POST', '/api/models/employees', { token: writer, body: { employee_id: `e-${Math.random().toString(36).slice(2)}`, first_name: 'a', deals_ratio: 1, yearly_spending: 1 } })
  expect(row.status, row.text).toBe(201)
  return { findToken: await tokenFor({ employees: { actions: ['read'], acl: { source: 'external', url: 'https://acl.example.com/filter', timeoutMs: 2000 } } }, url) }
}

describe(`a failed outbound call says no more than "could not be reached", on ${STORE}`, () => {
  let h: Harness
  let listeners: Awaited<ReturnType<typeof nonHttpListeners>>
  let targets: Array<[string, string]>
  beforeAll(async () => {
    h = await createHarness({ outboundAllow: ['127.0.0.1/32'] })
    listeners = await nonHttpListeners()
    targets = [
      ['closed port', `http://127.0.0.1:${await closedPort()}/x`],
      ['open port answering SSH', `http://127.0.0.1:${listeners.greetingPort}/x`],
      ['open port resetting', `http://127.0.0.1:${listeners.resetPort}/x`],
      ['unknown host', 'http://no-such-host.invalid/x'],
    ]
  })
  afterAll(async () => {
    await listeners.close()
    await h.close()
  })

  it('external ACL: the same code and message for a closed port, a non-HTTP port and an unknown host', async () => {
    const seen = new Set<string>()
    for (const [what, url] of targets) {
      const { findToken } = await vaultWithStoredAcl(h, url)
      const find = await h.request('POST', '/api/models/employees/find', { token: findToken, headers: auth, body: {} })
      expect(find.status, what).toBe(502)
      expect(find.body.error.code, what).toBe('acl_unreachable')
      seen.add(find.body.error.message)
    }
    expect([...seen]).toEqual(['the ACL filter endpoint could not be reached; nothing was returned or written'])
  })

  it('delegate: the petition falls back to people with the same reason for each', async () => {
    const seen = new Set<string | undefined>()
    for (const [index, [what, url]] of targets.entries()) {
      const id = await delegatePolicy(h, `delegate-${index}`, url, `plan-${index}`)
      try {
        const asked = await askThroughDelegate(h, `cu_${index}`, `plan-${index}`)
        expect(asked.status, what).toBe('waiting')
        seen.add(asked.why)
      } finally {
        await h.request('DELETE', `/v1/spaces/default/policies/${id}`, { token: h.adminToken })
      }
    }
    expect([...seen]).toEqual(['decision endpoint failed: it could not be reached'])
  })

  it('webhooks: every attempt records the same reason for each', async () => {
    const seen = new Set<string>()
    for (const [what, url] of targets) {
      const { space, token } = await freshSpace(h)
      const endpoint = await createEndpoint(h, space, token, { url })
      await enqueue(h, space, 'access/grant')
      await runUntil(testWorker(h, { schedule: [0] }), async () => (await deliveriesOf(h, space, token, endpoint.id))[0]?.state === 'failed')
      const [delivery] = await deliveriesOf(h, space, token, endpoint.id)
      const detail = await h.request('GET', `/v1/spaces/${space}/webhooks/${endpoint.id}/deliveries/${delivery!.id}`, { token })
      expect(detail.body.attempts[0].statusCode, what).toBeNull()
      seen.add(detail.body.attempts[0].error)
    }
    expect([...seen]).toEqual(['the endpoint could not be reached'])
  })
})

