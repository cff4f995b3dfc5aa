import { decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type BuiltApp } from '../src/app.js'
import type { Db } from '../src/db/db.js'
import { openPostgresDb } from '../src/db/postgres.js'
import { createHarness, STORE, testSigner, type Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

/**
 * Several nodes on one database: node A is the harness's app, node B a second app on the same store
 * (its own pool on PostgreSQL; the same Db object on PGlite, whose data belongs to one process) and
 * the same clock.
 */
let h: Harness
let dbB: Db
let b: BuiltApp
beforeAll(async () => {
  h = await createHarness()
  dbB = h.testDb.url ? openPostgresDb({ connectionString: h.testDb.url, maxConnections: 5 }) : h.db
  b = await buildApp({ db: dbB, signer: h.signer, kms: h.kms, clock: h.clock })
})
afterAll(async () => {
  await b.app.close()
  if (dbB !== h.db) await dbB.close()
  await h.close()
})

async function onB(method: string, url: string, options: { token?: string; body?: unknown } = {}) {
  const response = await b.app.inject({
    method: method as 'GET',
    url,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    ...(options.body !== undefined ? { payload: options.body as object } : {}),
  })
  return { status: response.statusCode, body: response.json() as any, text: response.body }
}

let spaceCount = 0
/** A fresh space with an auto-approve policy (60 s), a member and customers; `grant(i)` grants customer i. */
async function spaceForGrants(customers: number) {
  const space = `nodes-${(spaceCount += 1)}-${Math.random().toString(36).slice(2, 8)}`
  const token = await h.createSpace(space)
  const user = await h.createUser('member', { space, adminToken: token })
  const resources = Array.from({ length: customers }, (_, i) => ({ kind: 'customer', id: `c_${i}`, displayName: `Customer ${i}`, labels: {} }))
  expect((await h.request('POST', `/v1/spaces/${space}/resources:bulkUpdate`, { token, body: { resources } })).status).toBe(200)
  const policy = await h.request('POST', `/v1/spaces/${space}/policies`, {
    token,
    body: { name: 'auto', priority: 1, match: { resourceKinds: ['customer'] }, decision: { type: 'auto_approve', durationSeconds: 60 } },
  })
  expect(policy.status, policy.text).toBe(201)
  return {
    space,
    /** Grants customers `ids` to the member in one approval. */
    async grant(...ids: number[]) {
      const asked = await h.request('POST', `/v1/spaces/${space}/approvals`, {
        token,
        body: { petitioners: [{ kind: 'user', id: user.id, email: user.email }], resources: ids.map((i) => ({ kind: 'customer', id: `c_${i}` })) },
      })
      expect(asked.body.status, asked.text).toBe('granted')
    },
  }
}

/** A fresh space whose member holds `grants` grants of 60 s each, made in one approval; answers its id. */
async function spaceWithGrants(grants: number): Promise<string> {
  const made = await spaceForGrants(grants)
  await made.grant(...Array.from({ length: grants }, (_, i) => i))
  return made.space
}

const expireEvents = async (space: string) =>
  // Integrated or still queued for the audit sequencer (issue 12): both committed with the announcement.
  (
    await h.db.query<{ grant_id: string }>(
      `SELECT meta ->> 'grantId' AS grant_id FROM audit_events WHERE space_id = $1 AND event = 'access/expire'
       UNION ALL SELECT meta ->> 'grantId' FROM audit_pending WHERE space_id = $1 AND event = 'access/expire'`,
      [space],
    )
  ).rows.map((row) => row.grant_id)

/** Moves the shared clock for the length of `work`, then back. */
async function later<T>(ms: number, work: () => Promise<T>): Promise<T> {
  h.advanceClock(ms)
  try {
    return await work()
  } finally {
    h.advanceClock(-ms)
  }
}

describe('the expiry announcer', () => {
  it('commits each space on its own: a failure in one space does not take back the announcements of another', async () => {
    const healthy = await spaceWithGrants(2)
    const broken = await spaceWithGrants(2)
    // Make appends to one space fail: its audit log head goes missing for a while (queued events
    // reference it, so they are integrated first).
    await h.built.services.audit.integrateNow(broken)
    const head = (await h.db.query<Record<string, unknown>>('SELECT * FROM audit_heads WHERE space_id = $1', [broken])).rows[0]!
    await h.db.query('DELETE FROM audit_heads WHERE space_id = $1', [broken])
    await later(61_000, async () => {
      await expect(h.built.services.approvals.announceExpiries()).rejects.toThrow('audit_pending_space_id_fkey')
      expect(await expireEvents(healthy)).toHaveLength(2)
      const unannounced = await h.db.query('SELECT id FROM grants WHERE space_id = $1 AND expiry_announced_at IS NULL', [broken])
      expect(unannounced.rowCount).toBe(2)

      await h.db.query('INSERT INTO audit_heads SELECT * FROM json_populate_record(NULL::audit_heads, $1::json)', [JSON.stringify(head)])
      expect(await h.built.services.approvals.announceExpiries()).toBe(2)
      expect(await expireEvents(broken)).toHaveLength(2)
      expect(await expireEvents(healthy)).toHaveLength(2)
    })
  })

  it('two nodes announcing at once announce every expiry exactly once', async () => {
    const spaces = [await spaceWithGrants(3), await spaceWithGrants(3), await spaceWithGrants(3)]
    await later(61_000, async () => {
      const counts = await Promise.all([h.built.services.approvals.announceExpiries(), b.services.approvals.announceExpiries()])
      expect(counts[0] + counts[1]).toBe(9)
      expect(await Promise.all([h.built.services.approvals.announceExpiries(), b.services.approvals.announceExpiries()])).toEqual([0, 0])
    })
    for (const space of spaces) {
      const events = await expireEvents(space)
      expect(events).toHaveLength(3)
      expect(new Set(events).size).toBe(3)
    }
  })

  // Grants expiring in the order S1, S2, S2, S1, … and batches of two: one transaction over several
  // spaces would lock S1's head then S2's on one node while the other locks S2's then S1's.
  it.runIf(STORE === 'postgres')('two nodes announcing small batches over the same spaces at once never deadlock', async () => {
    const [one, two] = [await spaceForGrants(8), await spaceForGrants(8)]
    for (let round = 0; round < 4; round += 1) {
      await one.grant(2 * round)
      await two.grant(2 * round)
      await two.grant(2 * round + 1)
      await one.grant(2 * round + 1)
    }
    await later(61_000, async () => {
      const drain = async (node: BuiltApp) => {
        let total = 0
        for (let n = await node.services.approvals.announceExpiries(2); n > 0; n = await node.services.approvals.announceExpiries(2)) total += n
        return total
      }
      const counts = await Promise.all([drain(h.built), drain(b)])
      expect(counts[0] + counts[1]).toBe(16)
    })
    for (const space of [one.space, two.space]) expect(new Set(await expireEvents(space)).size).toBe(8)
  })
})

describe('the audit checkpoint key across nodes', () => {
  it('a node whose key is not the database\'s current one refuses to sign checkpoints, and never adds a second key', async () => {
    const other = await buildApp({ db: dbB, signer: testSigner(), kms: h.kms, clock: h.clock })
    try {
      const first = await h.request('POST', '/v1/spaces/default/audit/checkpoints', { token: h.adminToken })
      expect(first.status, first.text).toBe(201)
      const refused = await other.app.inject({ method: 'POST', url: '/v1/spaces/default/audit/checkpoints', headers: { authorization: `Bearer ${h.adminToken}` } })
      expect(refused.statusCode).toBe(503)
      expect(refused.json().error.message).toContain(`is not the database's current one (${h.signer.keyId})`)
      const signers = await h.db.query<{ key_id: string }>('SELECT DISTINCT key_id FROM audit_log_checkpoints')
      expect(signers.rows.map((row) => row.key_id)).toEqual([h.signer.keyId])
    } finally {
      await other.app.close()
    }
  })
})

describe('vault signing-key rotation across nodes', () => {
  const model = { name: 'ledger', primaryKey: 'id', fields: { id: { type: 'integer' } } }
  const rules = { ledger: { actions: ['read'], acl: { source: 'none' } } }
  const kidOf = (token: string) => decodeProtectedHeader(token).kid
  const published = async (node: 'a' | 'b') =>
    (node === 'a' ? (await h.request('GET', '/.well-known/jwks.json')).body : (await onB('GET', '/.well-known/jwks.json')).body).keys.map((key: { kid: string }) => key.kid)

  it('a token another node signed before it saw the rotation works everywhere until it expires; after the window no node publishes the key', async () => {
    const { clientId, clientSecret } = await setUpVault(h, rules, model)
    const tokenOnB = async () => {
      const issued = await onB('POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } })
      expect(issued.status, issued.text).toBe(200)
      return issued.body.access_token as string
    }
    const find = async (node: 'a' | 'b', token: string) =>
      node === 'a' ? (await h.request('POST', '/api/models/ledger/find', { token, body: {} })).status : (await onB('POST', '/api/models/ledger/find', { token, body: {} })).status

    const old = kidOf(await tokenOnB()) // B now holds the key set
    const rotated = await h.request('POST', '/v1/vault/signing-keys:rotate', { token: h.adminToken })
    expect(rotated.status, rotated.text).toBe(200)

    let elapsed = 10_000
    h.advanceClock(elapsed)
    try {
      // B has not re-read the set yet: it may still sign with the retired key, for a bounded time.
      const stale = await tokenOnB()
      expect(kidOf(stale)).toBe(old)
      // Near the end of that token's life (300 s), past the retired key's bare token lifetime.
      h.advanceClock(295_000)
      elapsed += 295_000
      expect(await find('a', stale)).toBe(200)
      expect(await find('b', stale)).toBe(200)

      // At 325 s another rotation; B re-reads the set on the first token of the new key it sees.
      h.advanceClock(20_000)
      elapsed += 20_000
      const third = await h.request('POST', '/v1/vault/signing-keys:rotate', { token: h.adminToken })
      const fresh = (await h.request('POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } })).body.access_token
      expect(kidOf(fresh)).toBe(third.body.kid)
      expect(await find('b', fresh)).toBe(200)
      expect(await published('b')).toContain(old)

      // 335 s: the first key's window (token lifetime + the 30 s re-read bound) has ended. B read the
      // set 10 s ago, when the key was still published; it must stop publishing it all the same.
      h.advanceClock(10_000)
      elapsed += 10_000
      expect(await published('a')).not.toContain(old)
      expect(await published('b')).not.toContain(old)
      expect(await published('b')).toEqual(expect.arrayContaining([rotated.body.kid, third.body.kid]))
    } finally {
      h.advanceClock(-elapsed)
    }
  })

  it('a rotation is one transaction: two nodes rotating at once leave exactly one signing key, which both use', async () => {
    const { clientId, clientSecret } = await setUpVault(h, rules, null)
    const [onA, onBoth] = await Promise.all([
      h.request('POST', '/v1/vault/signing-keys:rotate', { token: h.adminToken }),
      onB('POST', '/v1/vault/signing-keys:rotate', { token: h.adminToken }),
    ])
    expect([onA.status, onBoth.status]).toEqual([200, 200])
    const active = await h.db.query<{ kid: string }>('SELECT kid FROM vault_signing_keys WHERE retired_at IS NULL')
    expect(active.rows).toHaveLength(1)
    // Once past the re-read bound, every node signs with it.
    const body = { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }
    await later(31_000, async () => {
      const fromA = (await h.request('POST', '/oauth/token', { body })).body.access_token
      const fromB = (await onB('POST', '/oauth/token', { body })).body.access_token
      expect(kidOf(fromA)).toBe(active.rows[0]!.kid)
      expect(kidOf(fromB)).toBe(active.rows[0]!.kid)
    })
  })
})
