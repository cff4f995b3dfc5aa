import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, STORE, type Harness } from './harness.js'
import { createEndpoint, enqueue, freshSpace, startReceiver, testWorker } from './webhooks-helpers.js'
import { setUpVault } from './vault-harness.js'

let h: Harness
let receiver: Awaited<ReturnType<typeof startReceiver>>
beforeAll(async () => {
  h = await createHarness()
  receiver = await startReceiver()
})
afterAll(async () => {
  await receiver.close()
  await h.close()
})

/** Every stored secret, as the database holds it. */
async function storedSecrets(): Promise<string[]> {
  const webhooks = await h.db.query<{ secret: string; previous_secret: string | null }>('SELECT secret, previous_secret FROM webhook_endpoints')
  const sso = await h.db.query<{ client_secret: string | null }>('SELECT client_secret FROM sso_providers')
  const signing = await h.db.query<{ private_pem: string }>('SELECT private_pem FROM vault_signing_keys')
  return [
    ...webhooks.rows.flatMap((row) => [row.secret, row.previous_secret]),
    ...sso.rows.map((row) => row.client_secret),
    ...signing.rows.map((row) => row.private_pem),
  ].filter((value): value is string => value !== null)
}

/** Sends one event through a worker of its own and verifies its signature with `secret`. */
async function deliversSignedWith(space: string, secret: string): Promise<void> {
  const before = receiver.received.length
  await enqueue(h, space, 'access/grant', { n: before })
  await testWorker(h).runOnce()
  const request = receiver.received.at(-1)!
  expect(receiver.received.length).toBe(before + 1)
  expect(() => new Webhook(secret).verify(request.body, request.headers)).not.toThrow()
}

describe(`secrets at rest on ${STORE}`, () => {
  it('webhook signing secrets, OIDC client secrets and vault signing keys are stored sealed under the master key, and still work', async () => {
    const { space, token } = await freshSpace(h)
    const endpoint = await createEndpoint(h, space, token, { url: receiver.url() })
    const rotated = await h.request('POST', `/v1/spaces/${space}/webhooks/${endpoint.id}:rotateSecret`, { token, body: {} })
    expect(rotated.status, rotated.text).toBe(200)
    const provider = await h.request('POST', '/v1/spaces/default/sso/providers', {
      token: h.adminToken,
      body: { id: 'corp', displayName: 'Corp', issuer: 'https://login.example.com', clientId: 'gatehouse', clientSecret: 'oidc-client-secret-value' },
    })
    expect(provider.status, provider.text).toBe(201)
    const vault = await setUpVault(h, { employees: { actions: ['read'], acl: { source: 'none' } } })
    // The token was signed with the sealed private key; a find verifies it.
    const found = await h.request('POST', '/api/models/employees/find', { token: vault.token, body: {} })
    expect(found.status, found.text).toBe(200)

    const stored = await storedSecrets()
    expect(stored.length).toBe(4)
    for (const value of stored) expect(value).toMatch(new RegExp(`^ghenc:v1:${h.kms.keyId}:`))
    const dump = stored.join('\n')
    for (const plain of [endpoint.secret, rotated.body.secret, 'oidc-client-secret-value', 'PRIVATE KEY']) expect(dump).not.toContain(plain)
    // Nor anywhere in those tables, in any column.
    for (const table of ['webhook_endpoints', 'sso_providers', 'vault_signing_keys']) {
      const rows = JSON.stringify((await h.db.query(`SELECT * FROM ${table}`)).rows)
      for (const plain of [endpoint.secret, rotated.body.secret, 'oidc-client-secret-value', 'PRIVATE KEY']) expect(rows).not.toContain(plain)
    }
    // The rotated-out secret still signs alongside the new one.
    await deliversSignedWith(space, rotated.body.secret)
    await deliversSignedWith(space, endpoint.secret)
  })

  it('plain secrets left by an older version are still used, then sealed at start (idempotent)', async () => {
    const { space, token } = await freshSpace(h)
    const endpoint = await createEndpoint(h, space, token, { url: receiver.url() })
    const plain = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    await h.db.query('UPDATE webhook_endpoints SET secret = $3 WHERE space_id = $1 AND id = $2', [space, endpoint.id, plain])
    await h.db.query(`UPDATE sso_providers SET client_secret = 'plain-client-secret' WHERE id = 'corp'`)
    await deliversSignedWith(space, plain)

    const keys = h.built.services.keys
    expect(await keys.sealPlainSecrets()).toBe(2)
    expect(await keys.sealPlainSecrets()).toBe(0)
    for (const value of await storedSecrets()) expect(value).toMatch(/^ghenc:v1:/)
    expect(JSON.stringify(await storedSecrets())).not.toContain('plain-client-secret')
    await deliversSignedWith(space, plain)
  })
})
