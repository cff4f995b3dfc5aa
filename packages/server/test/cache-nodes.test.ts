import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type BuiltApp } from '../src/app.js'
import type { Db } from '../src/db/db.js'
import { openPostgresDb } from '../src/db/postgres.js'
import { AUTH_TOPIC } from '../src/modules/auth/auth-types.js'
import { createJobRunner, createJobsStore, type JobHandler } from '../src/modules/jobs/index.js'
import { keysTopic } from '../src/modules/keys/index.js'
import { createReencryptJob, REENCRYPT_JOB } from '../src/modules/vault/crypto/reencrypt-job.js'
import { createReindexJob, REINDEX_JOB } from '../src/modules/vault/crypto/reindex-job.js'
import { createModelsStore } from '../src/modules/vault/models/models-store.js'
import { createRecordsStore } from '../src/modules/vault/records/records-store.js'
import { createHarness, STORE, type Harness } from './harness.js'

/**
 * The control-plane caches across nodes (issue 13). Node A is the harness's app; node B a second app
 * on the same store (its own pool on PostgreSQL; the same Db on PGlite, one process) whose change
 * feed is started, so its caches answer. On PostgreSQL a third node, C, drops every notification:
 * only the version table's poll tells it about changes. Each test warms the other node's cache
 * first, changes something on A, then asserts the behaviour on B (and C) within a generous timeout —
 * the bound is the poll interval, not asserted as a timing.
 */
const POLL_MS = 200
let h: Harness
const others: Array<{ built: BuiltApp; db: Db }> = []
let b: BuiltApp
let c: BuiltApp | null = null

async function node(options: { ignoreNotifications?: boolean }): Promise<BuiltApp> {
  const db = h.testDb.url ? openPostgresDb({ connectionString: h.testDb.url, maxConnections: 3 }) : h.db
  const built = await buildApp({ db, signer: h.signer, kms: h.kms, clock: h.clock, changeFeed: { pollIntervalMs: POLL_MS, ...options } })
  await built.changes.start()
  others.push({ built, db })
  return built
}

beforeAll(async () => {
  h = await createHarness({ changeFeed: { pollIntervalMs: POLL_MS } })
  b = await node({})
  // PGlite has no poll (one process): a node that ignores notifications would never hear of a change.
  if (STORE === 'postgres') c = await node({ ignoreNotifications: true })
})
afterAll(async () => {
  for (const other of others) {
    await other.built.app.close()
    if (other.db !== h.db) await other.db.close()
  }
  await h.close()
})

async function on(app: BuiltApp, method: string, url: string, options: { token?: string; body?: unknown } = {}) {
  const response = await app.app.inject({
    method: method as 'GET',
    url,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    ...(options.body !== undefined ? { payload: options.body as object } : {}),
  })
  return { status: response.statusCode, body: response.json() as any, text: response.body }
}

/** Asks until `check` passes (the change reached the node), failing after `ms` with the last answer. */
async function eventually<T>(ask: () => Promise<T>, check: (answer: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const answer = await ask()
    if (check(answer)) return answer
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms; last answer: ${JSON.stringify(answer).slice(0, 400)}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const readers = () => [b, ...(c ? [c] : [])]
const admin = () => ({ token: h.adminToken })
let serial = 0

async function serviceToken(): Promise<{ id: string; token: string }> {
  const account = await h.request('POST', '/v1/spaces/default/service-accounts', { ...admin(), body: { name: `cache-${(serial += 1)}`, role: 'reviewer' } })
  expect(account.status, account.text).toBe(201)
  const issued = await h.request('POST', `/v1/spaces/default/service-accounts/${account.body.id}/tokens`, { ...admin(), body: { name: 't', scopes: ['space:read'] } })
  expect(issued.status, issued.text).toBe(201)
  return { id: issued.body.id, token: issued.body.token }
}

/** A model of its own, a policy over it, a client and a vault token, and one record. */
async function vault(rules: (model: string) => Record<string, unknown>) {
  const model = `cached_${(serial += 1)}`
  const created = await h.request('POST', '/v1/spaces/default/vault/models', {
    ...admin(),
    body: { name: model, primaryKey: 'id', fields: { id: { type: 'string' }, name: { type: 'string' }, secret: { type: 'string' } } },
  })
  expect(created.status, created.text).toBe(201)
  const policy = await h.request('POST', '/v1/spaces/default/vault/policies', { ...admin(), body: { name: `p-${model}`, rules: rules(model) } })
  expect(policy.status, policy.text).toBe(201)
  const client = await h.request('POST', '/v1/spaces/default/vault/clients', { ...admin(), body: { name: `c-${model}`, policyId: policy.body.id } })
  expect(client.status, client.text).toBe(201)
  const issued = await h.request('POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id: client.body.clientId, client_secret: client.body.clientSecret } })
  expect(issued.status, issued.text).toBe(200)
  const token = issued.body.access_token as string
  const record = await h.request('POST', `/api/models/${model}`, { token, body: { id: 'r1', name: 'Ada', secret: 's3cret' } })
  expect(record.status, record.text).toBe(201)
  const find = (app: BuiltApp) => on(app, 'POST', `/api/models/${model}/find`, { token, body: {} })
  return { model, policyId: policy.body.id as string, clientRowId: client.body.id as string, token, find }
}

describe(`control-plane caches across nodes, on ${STORE}`, () => {
  it('answer from the cache: a row changed behind the change feed is not seen until its topic moves', async () => {
    const { id, token } = await serviceToken()
    for (const reader of readers()) expect((await on(reader, 'GET', '/v1/spaces/default', { token })).status).toBe(200)
    // What no Gatehouse write does: change the row without touching the topic.
    await h.db.query('UPDATE tokens SET revoked_at = now() WHERE id = $1', [id])
    for (const reader of readers()) expect((await on(reader, 'GET', '/v1/spaces/default', { token })).status).toBe(200)
    // The version table moves (as any Gatehouse write in that transaction would make it): every node drops it.
    await h.db.transaction((tx) => h.built.changes.touch(tx, AUTH_TOPIC))
    h.built.changes.announce(AUTH_TOPIC)
    for (const reader of readers()) {
      const refused = await eventually(() => on(reader, 'GET', '/v1/spaces/default', { token }), (answer) => answer.status === 401)
      expect(refused.body.error.code).toBe('token_revoked')
    }
  })

  it('a token revoked on A is refused at once on A and within the bound on B (and on C, by the poll alone)', async () => {
    const { id, token } = await serviceToken()
    for (const app of [h.built, ...readers()]) expect((await on(app, 'GET', '/v1/spaces/default', { token })).status).toBe(200)
    const revoked = await h.request('POST', `/v1/spaces/default/tokens/${id}:revoke`, admin())
    expect(revoked.status, revoked.text).toBe(200)
    const onA = await on(h.built, 'GET', '/v1/spaces/default', { token })
    expect(onA.status).toBe(401)
    expect(onA.body.error.code).toBe('token_revoked')
    for (const reader of readers()) {
      const refused = await eventually(() => on(reader, 'GET', '/v1/spaces/default', { token }), (answer) => answer.status === 401)
      expect(refused.body.error.code).toBe('token_revoked')
    }
  })

  it("a user's role lowered on A is what B's cached token carries within the bound", async () => {
    const user = await h.createUser('admin')
    for (const reader of readers()) expect((await on(reader, 'GET', '/v1/spaces/default/service-accounts', { token: user.token })).status).toBe(200)
    const lowered = await h.request('PATCH', `/v1/spaces/default/users/${user.id}`, { ...admin(), body: { role: 'member' } })
    expect(lowered.status, lowered.text).toBe(200)
    for (const reader of readers()) {
      await eventually(() => on(reader, 'GET', '/v1/spaces/default/service-accounts', { token: user.token }), (answer) => answer.status === 403)
    }
  })

  it('a vault client deleted on A is refused on B within the bound', async () => {
    const v = await vault((model) => ({ [model]: { actions: ['read', 'write'], acl: { source: 'none' } } }))
    for (const app of [h.built, ...readers()]) expect((await v.find(app)).status).toBe(200)
    const deleted = await h.request('DELETE', `/v1/spaces/default/vault/clients/${v.clientRowId}`, admin())
    expect(deleted.status, deleted.text).toBe(204)
    expect((await v.find(h.built)).status).toBe(401)
    for (const reader of readers()) {
      const refused = await eventually(() => v.find(reader), (answer) => answer.status === 401)
      expect(refused.body.error.message).toContain('no longer exists')
    }
  })

  it('a policy narrowed on A narrows what B returns within the bound', async () => {
    const v = await vault((model) => ({ [model]: { actions: ['read', 'write'], acl: { source: 'none' } } }))
    for (const reader of readers()) expect((await v.find(reader)).body.data[0].secret).toBe('s3cret')
    const narrowed = await h.request('PUT', `/v1/spaces/default/vault/policies/${v.policyId}`, {
      ...admin(),
      body: { name: `p-${v.model}`, rules: { [v.model]: { actions: ['read'], readable: ['name'], acl: { source: 'none' } } } },
    })
    expect(narrowed.status, narrowed.text).toBe(200)
    expect((await v.find(h.built)).body.data[0]).not.toHaveProperty('secret')
    for (const reader of readers()) {
      const found = await eventually(() => v.find(reader), (answer) => answer.status === 200 && !('secret' in answer.body.data[0]))
      expect(found.body.data[0].name).toBe('Ada')
    }
  })

  it('a field dropped on A is gone from what B returns within the bound', async () => {
    const v = await vault((model) => ({ [model]: { actions: ['read', 'write'], acl: { source: 'none' } } }))
    for (const reader of readers()) expect((await v.find(reader)).body.data[0].secret).toBe('s3cret')
    const dropped = await h.request('PUT', `/v1/spaces/default/vault/models/${v.model}`, {
      ...admin(),
      body: { primaryKey: 'id', fields: { id: { type: 'string' }, name: { type: 'string' } }, drop: ['secret'] },
    })
    expect(dropped.status, dropped.text).toBe(200)
    for (const reader of readers()) {
      // A node still holding the old model would select a column that no longer exists.
      const found = await eventually(() => v.find(reader), (answer) => answer.status === 200 && !('secret' in answer.body.data[0]))
      expect(found.body.data[0]).toMatchObject({ id: 'r1', name: 'Ada' })
    }
  })

  it('a token that expires at T is refused at T on a node that cached it', async () => {
    const user = await h.createUser('member')
    const issued = await h.request('POST', `/v1/spaces/default/users/${user.id}/tokens`, { ...admin(), body: { ttlSeconds: 60 } })
    expect(issued.status, issued.text).toBe(201)
    for (const reader of readers()) expect((await on(reader, 'GET', '/v1/spaces/default', { token: issued.body.token })).status).not.toBe(401)
    h.advanceClock(60_000)
    try {
      for (const reader of readers()) {
        const refused = await on(reader, 'GET', '/v1/spaces/default', { token: issued.body.token })
        expect(refused.status).toBe(401)
        expect(refused.body.error.code).toBe('token_expired')
      }
    } finally {
      h.advanceClock(-60_000)
    }
  })
})

/** A model with an encrypted, equality-searchable `name` and an encrypted `note`, a client that reads and writes it, and r1. */
async function encryptedVault() {
  const model = `sealed_${(serial += 1)}`
  const created = await h.request('POST', '/v1/spaces/default/vault/models', {
    ...admin(),
    body: { name: model, primaryKey: 'id', fields: { id: { type: 'string' }, name: { type: 'string', encrypted: true, searchable: 'equality' }, note: { type: 'string', encrypted: true } } },
  })
  expect(created.status, created.text).toBe(201)
  const policy = await h.request('POST', '/v1/spaces/default/vault/policies', { ...admin(), body: { name: `p-${model}`, rules: { [model]: { actions: ['read', 'write'], acl: { source: 'none' } } } } })
  expect(policy.status, policy.text).toBe(201)
  const client = await h.request('POST', '/v1/spaces/default/vault/clients', { ...admin(), body: { name: `c-${model}`, policyId: policy.body.id } })
  expect(client.status, client.text).toBe(201)
  const issued = await h.request('POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id: client.body.clientId, client_secret: client.body.clientSecret } })
  const token = issued.body.access_token as string
  expect((await h.request('POST', `/api/models/${model}`, { token, body: { id: 'r1', name: 'Ada', note: 'n1' } })).status).toBe(201)
  const { rows } = await h.db.query<{ t: string; s: string }>('SELECT table_name AS t, space_id AS s FROM vault_models WHERE name = $1', [model])
  const { t: table, s: spaceId } = rows[0]!
  return {
    model,
    spaceId,
    read: (app: BuiltApp, id = 'r1') => on(app, 'GET', `/api/models/${model}/${id}`, { token }),
    findByName: (app: BuiltApp, name: string) => on(app, 'POST', `/api/models/${model}/find`, { token, body: { filter: { name } } }),
    write: (app: BuiltApp, id: string, name: string) => on(app, 'POST', `/api/models/${model}`, { token, body: { id, name, note: 'n' } }),
    /** The data key version a record's `note` ciphertext names (byte 4 of the envelope). */
    noteVersion: async (id: string) => (await h.db.query<{ v: number }>(`SELECT get_byte(note, 4) AS v FROM vault."${table}" WHERE id = $1`, [id])).rows[0]!.v,
    note: async (id: string) => (await h.db.query<{ n: Uint8Array }>(`SELECT note AS n FROM vault."${table}" WHERE id = $1`, [id])).rows[0]!.n,
    setNote: (id: string, note: Uint8Array) => h.db.query(`UPDATE vault."${table}" SET note = $2 WHERE id = $1`, [id, note]),
    /** Removes a record left under a retired key, which would fail the space's next re-encryption job. */
    forget: (id: string) => h.db.query(`DELETE FROM vault."${table}" WHERE id = $1`, [id]),
  }
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined }

/** Runs every queued job of `kind` to its end on node A, as A's own runner would. */
async function runJobs(kind: string, handler: JobHandler) {
  const runner = createJobRunner({ db: h.db, store: createJobsStore(), clock: h.clock, handlers: { [kind]: handler }, owner: `test-${kind}`, logger: quiet })
  for (let i = 0; i < 100 && (await runner.runOnce()); i++);
}

describe(`field keys cached across requests, on ${STORE}`, () => {
  const allNodes = () => [h.built, ...readers()]
  const currentDataKey = async (spaceId: string) => (await h.built.services.keys.dataKey(h.db, spaceId)).version

  it('answer from the cache: a data key retired behind the change feed still opens values until the keys topic moves', async () => {
    const v = await encryptedVault()
    const old = await currentDataKey(v.spaceId)
    await h.built.services.keys.rotateDataKey(v.spaceId)
    // Every node has heard of the rotation (C only by its poll) before its cache is warmed.
    if (STORE === 'postgres') for (const app of allNodes()) for (let i = 0; i < 2; i++) await app.changes.pollNow()
    for (const app of allNodes()) expect((await v.read(app)).body.note).toBe('n1')
    // What no Gatehouse write does: erase the key r1 is under without touching the keys topic.
    await h.db.query('UPDATE space_data_keys SET retired_at = now(), wrapped = NULL WHERE space_id = $1 AND version = $2', [v.spaceId, old])
    for (const app of allNodes()) expect((await v.read(app)).body.note).toBe('n1')
    await h.db.transaction((tx) => h.built.changes.touch(tx, keysTopic(v.spaceId)))
    h.built.changes.announce(keysTopic(v.spaceId))
    for (const app of allNodes()) {
      const refused = await eventually(() => v.read(app), (answer) => answer.status !== 200)
      expect(refused.body.error.code).toBe('integrity_failed')
    }
    await v.forget('r1')
  })

  it('a data key rotated on A: B writes under the new one within the bound; retired by the job, it opens nothing on any node', async () => {
    const v = await encryptedVault()
    for (const app of allNodes()) expect((await v.read(app)).body.note).toBe('n1')
    const old = await v.noteVersion('r1')
    const oldCiphertext = await v.note('r1')
    const rotated = await h.request('POST', '/v1/spaces/default/vault/keys/data/rotate', admin())
    expect(rotated.status, rotated.text).toBe(202)
    expect(rotated.body.version).toBe(old + 1)
    let n = 0
    for (const app of allNodes()) {
      await eventually(async () => {
        const id = `w${(n += 1)}`
        expect((await v.write(app, id, 'Bea')).status).toBe(201)
        return v.noteVersion(id)
      }, (version) => version === old + 1)
    }
    await runJobs(REENCRYPT_JOB, createReencryptJob({ db: h.db, keys: h.built.services.keys, models: createModelsStore(), records: createRecordsStore() }))
    expect(await v.noteVersion('r1')).toBe(old + 1)
    for (const app of allNodes()) expect((await v.read(app)).body.note).toBe('n1')
    // A copy of r1 from before the rotation (a restored backup) is under the retired key: refused everywhere.
    await v.setNote('r1', oldCiphertext)
    for (const app of allNodes()) {
      const refused = await eventually(() => v.read(app), (answer) => answer.status !== 200)
      expect(refused.body.error.code).toBe('integrity_failed')
    }
    await v.forget('r1')
  })

  it('an index key rotated on A and re-indexed: B finds by the new index and writes under it within the bound', async () => {
    const v = await encryptedVault()
    for (const app of allNodes()) expect((await v.findByName(app, 'Ada')).body.meta.total).toBe(1)
    const rotated = await h.request('POST', `/v1/spaces/default/vault/models/${v.model}/fields/name/index-key/rotate`, admin())
    expect(rotated.status, rotated.text).toBe(202)
    await runJobs(REINDEX_JOB, createReindexJob({ db: h.db, keys: h.built.services.keys, models: createModelsStore(), records: createRecordsStore() }))
    expect((await h.built.services.keys.indexKey(h.db, v.spaceId, v.model, 'name')).previous).toBeNull()
    // A node still holding only the old index key would look r1 up under a hash no row has any more.
    for (const app of allNodes()) await eventually(() => v.findByName(app, 'Ada'), (answer) => answer.status === 200 && answer.body.meta.total === 1)
    let n = 0
    for (const app of readers()) {
      const name = `Cy${(n += 1)}`
      expect((await v.write(app, `i${n}`, name)).status).toBe(201)
      expect((await v.findByName(h.built, name)).body.meta.total).toBe(1)
    }
  })
})
