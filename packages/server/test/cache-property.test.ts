import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type BuiltApp } from '../src/app.js'
import type { Db } from '../src/db/db.js'
import { openPostgresDb } from '../src/db/postgres.js'
import { createHarness, STORE, type Harness } from './harness.js'

/**
 * The cached access check answers exactly what the uncached one does (issue 13). Node A is the
 * harness's app, its caches on; node U is a second app on the same store and clock whose change feed
 * is never started, so every cache of U bypasses (`fresh()` is false) and it asks the database each
 * time. Random sequences of grants, grant and token revocations, users created, deactivated and
 * deleted, clock moves (tokens and grants expiring) and checks — one to three times in a row on A, so
 * its caches are cold, warm or stale-candidates — must get the same answer from both.
 */
let h: Harness
let u: BuiltApp
let dbU: Db
beforeAll(async () => {
  h = await createHarness()
  dbU = h.testDb.url ? openPostgresDb({ connectionString: h.testDb.url, maxConnections: 3 }) : h.db
  u = await buildApp({ db: dbU, signer: h.signer, kms: h.kms, clock: h.clock })
  const customers = [0, 1, 2].map((i) => ({ kind: 'customer', id: `pc_${i}`, displayName: `C${i}`, labels: {} }))
  expect((await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources: customers } })).status).toBe(200)
  await h.db.query(
    `INSERT INTO petitions (space_id, id, request_key, state, petitioners, resources, reason, rule, created_by)
     VALUES ('default', 'pet_prop_filler', 'prop-filler', 'granted', '[]', '[]', 'property test', '{}', '{}')`,
  )
})
afterAll(async () => {
  expect(u.changes.fresh()).toBe(false)
  await u.app.close()
  if (dbU !== h.db) await dbU.close()
  await h.close()
})

type Caller = 'app' | 'self'
type Op =
  | { op: 'grant'; p: number; r: number; seconds: number }
  | { op: 'revokeGrant' }
  | { op: 'revokeToken'; caller: Caller }
  | { op: 'createUser'; p: number }
  | { op: 'deactivate'; p: number }
  | { op: 'deleteUser'; p: number }
  | { op: 'advance'; seconds: number }
  | { op: 'check'; caller: Caller; p: number; r: number; times: number }

const person = fc.integer({ min: 0, max: 2 })
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('grant' as const), p: person, r: person, seconds: fc.integer({ min: 5, max: 300 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('revokeGrant' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('revokeToken' as const), caller: fc.constantFrom<Caller>('app', 'self') }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('createUser' as const), p: person }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deactivate' as const), p: person }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteUser' as const), p: person }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 150 }) }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('check' as const), caller: fc.constantFrom<Caller>('app', 'self'), p: person, r: person, times: fc.integer({ min: 1, max: 3 }) }) },
)

async function ask(app: BuiltApp, token: string, body: unknown) {
  const response = await app.app.inject({ method: 'POST', url: '/v1/spaces/default/approvals', headers: { authorization: `Bearer ${token}` }, payload: body as object })
  const parsed = response.json() as any
  if (response.statusCode !== 200) return { http: response.statusCode, code: parsed.error.code as string }
  return { http: 200, status: parsed.status as string, grants: (parsed.grants as Array<{ id: string }>).map((grant) => grant.id).sort(), petition: parsed.petition?.id ?? null }
}

let run = 0
async function play(ops: Op[]) {
  const tag = `r${(run += 1)}x${Math.random().toString(36).slice(2, 7)}`
  const emails = [0, 1, 2].map((i) => `p${i}-${tag}@example.com`)
  const admin = { token: h.adminToken }
  const account = await h.request('POST', '/v1/spaces/default/service-accounts', { ...admin, body: { name: `prop-${tag}`, role: 'member' } })
  const appToken = await h.request('POST', `/v1/spaces/default/service-accounts/${account.body.id}/tokens`, { ...admin, body: { name: 't', scopes: ['access:request'], ttlSeconds: 200 } })
  const tokens: Record<Caller, { id: string; token: string } | null> = { app: { id: appToken.body.id, token: appToken.body.token }, self: null }
  const users: Array<string | null> = [null, null, null]
  const grants: string[] = []
  let grantSerial = 0

  for (const step of ops) {
    switch (step.op) {
      case 'grant': {
        const id = `grt_prop_${tag}_${(grantSerial += 1)}`
        const now = h.clock().getTime()
        await h.db.query(
          `INSERT INTO grants (space_id, id, petition_id, petitioner_id, petitioner_email, petitioner_user_id, resource_kind, resource_id, starts_at, expires_at)
           VALUES ('default', $1, 'pet_prop_filler', $2, $3, $4, 'customer', $5, $6, $7)`,
          [id, users[step.p] ?? `ext_${step.p}`, emails[step.p], users[step.p], `pc_${step.r}`, new Date(now - 1000), new Date(now + step.seconds * 1000)],
        )
        grants.push(id)
        break
      }
      case 'revokeGrant': {
        const id = grants.pop()
        if (id) await h.request('POST', `/v1/spaces/default/grants/${id}:revoke`, { ...admin, body: {} })
        break
      }
      case 'revokeToken': {
        const token = tokens[step.caller]
        if (token) await h.request('POST', `/v1/spaces/default/tokens/${token.id}:revoke`, admin)
        break
      }
      case 'createUser': {
        if (users[step.p]) break
        const created = await h.request('POST', '/v1/spaces/default/users', { ...admin, body: { email: emails[step.p], name: 'P', role: 'member' } })
        expect(created.status, created.text).toBe(201)
        users[step.p] = created.body.id
        if (step.p === 0) {
          const issued = await h.request('POST', `/v1/spaces/default/users/${created.body.id}/tokens`, { ...admin, body: { ttlSeconds: 150 } })
          tokens.self = { id: issued.body.id, token: issued.body.token }
        }
        break
      }
      case 'deactivate': {
        if (users[step.p]) await h.request('POST', `/v1/spaces/default/users/${users[step.p]}:deactivate`, admin)
        break
      }
      case 'deleteUser': {
        if (!users[step.p]) break
        await h.request('DELETE', `/v1/spaces/default/users/${users[step.p]}`, admin)
        users[step.p] = null
        break
      }
      case 'advance':
        h.advanceClock(step.seconds * 1000)
        break
      case 'check': {
        const token = tokens[step.caller]
        if (!token) break
        const body = { petitioners: [{ kind: 'user', id: `ext_${step.p}`, email: emails[step.p] }], resources: [{ kind: 'customer', id: `pc_${step.r}` }], reason: 'property' }
        let cached = await ask(h.built, token.token, body)
        for (let i = 1; i < step.times; i += 1) cached = await ask(h.built, token.token, body)
        const uncached = await ask(u, token.token, body)
        expect(cached, JSON.stringify({ step, ops })).toEqual(uncached)
        break
      }
    }
  }
}

describe(`the cached access check, on ${STORE}`, () => {
  it('answers exactly what the uncached one does, for random sequences of grants, revocations, user changes and clock moves', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 14 }), play), { numRuns: 40, endOnFailure: true })
  }, 600_000)
})
