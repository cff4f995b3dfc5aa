import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbErrorToAppError, TRANSACTION_ATTEMPTS } from '../src/db/db-errors.js'
import { toAppError } from '../src/http/error-handler.js'
import { createHarness, type Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

/** Issue 11's "errors a person can act on": each case here was a 500, a vague message or a silent wrong answer before. */
let h: Harness
let vault: { token: string; clientId: string; clientSecret: string }

const THINGS = {
  name: 'things',
  primaryKey: 'thing_id',
  fields: { thing_id: { type: 'string' }, name: { type: 'string' }, born: { type: 'date' }, doc: { type: 'json' } },
}

beforeAll(async () => {
  h = await createHarness()
  vault = await setUpVault(h, { things: { actions: ['read', 'write', 'delete'], acl: { source: 'none' } } }, THINGS)
})
afterAll(() => h.close())

const api = (method: string, url: string, body?: unknown) => h.request(method, url, { token: vault.token, ...(body !== undefined ? { body } : {}) })
const raw = (method: string, url: string, payload: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  h.request(method, url, { token: vault.token, body: payload, headers })
const refusals = async () => (await h.request('GET', '/v1/spaces/default/audit?event=vault/refused&limit=500', { token: h.adminToken })).body.events as Array<{ meta: Record<string, unknown> }>

describe('database errors are mapped in one place', () => {
  it('a value the database refuses is a 400 naming the problem, not a 500', async () => {
    // JavaScript's Date accepts 30 February; PostgreSQL does not (22008).
    const response = await api('POST', '/api/models/things', { thing_id: 't1', born: '2023-02-30' })
    expect(response.status).toBe(400)
    expect(response.body.error.code).toBe('validation_failed')
    expect(response.body.error.message).toContain('born')
    expect((await api('GET', '/api/models/things/t1')).status).toBe(404)
  })

  it('maps SQLSTATEs raised by the real store: 22xxx → 400, 23505 → 409, 40001/40P01 → 503', async () => {
    const raised = async (sql: string) => h.db.query(sql).then(() => null, (error: unknown) => error)
    expect(toAppError((await raised("SELECT 'x'::integer")) as Error)).toMatchObject({ code: 'validation_failed', status: 400 })
    expect(toAppError((await raised("SELECT '2023-02-30'::date")) as Error).message).toContain('2023-02-30')
    const raise = (code: string) => raised(`DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '${code}'; END $$`)
    expect(toAppError((await raise('23505')) as Error)).toMatchObject({ code: 'conflict', status: 409 })
    expect(toAppError((await raise('40001')) as Error)).toMatchObject({ code: 'unavailable', status: 503 })
    // A column or table dropped under a node's cached model (a conversion's end, a model deleted elsewhere): retry, not 500.
    expect(toAppError((await raised('SELECT no_such_column FROM spaces')) as Error)).toMatchObject({ code: 'unavailable', status: 503 })
    expect(toAppError((await raised('SELECT 1 FROM vault.no_such_table')) as Error)).toMatchObject({ code: 'unavailable', status: 503 })
    expect(toAppError((await raise('40P01')) as Error)).toMatchObject({ code: 'unavailable', status: 503 })
    expect(dbErrorToAppError(await raise('XX000'))).toBeNull()
    expect(dbErrorToAppError(Object.assign(new Error('socket'), { code: 'EPIPE' }))).toBeNull()
  })

  it('a transaction that meets a serialization failure or a deadlock runs again, a bounded number of times', async () => {
    let attempts = 0
    const result = await h.db.transaction(async (tx) => {
      attempts += 1
      if (attempts === 1) await tx.query(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`)
      if (attempts === 2) await tx.query(`DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$`)
      return (await tx.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one
    })
    expect({ result, attempts }).toEqual({ result: 1, attempts: 3 })

    let forever = 0
    const failure = await h.db
      .transaction(async (tx) => {
        forever += 1
        await tx.query(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`)
      })
      .catch((error: unknown) => error)
    expect(forever).toBe(TRANSACTION_ATTEMPTS)
    expect(toAppError(failure as Error).code).toBe('unavailable')

    let once = 0
    await h.db.transaction(async (tx) => {
      once += 1
      await tx.query("SELECT 'x'::integer")
    }).catch(() => undefined)
    expect(once).toBe(1)
  })

})

describe('messages a person can act on', () => {
  const policy = (rules: unknown) => h.request('POST', '/v1/spaces/default/vault/policies', { token: h.adminToken, body: { name: `p-${Math.random().toString(36).slice(2)}`, rules } })

  it('an enum or a union of literals lists the allowed values', async () => {
    const source = await policy({ employees: { actions: ['read'], acl: { source: 'everyone' } } })
    expect(source.status).toBe(400)
    expect(source.body.error.message).toBe('body.rules.employees.acl.source: must be one of none, external, grants')
    const missing = await policy({ employees: { actions: ['read'], acl: {} } })
    expect(missing.body.error.message).toBe('body.rules.employees.acl.source: is required: one of none, external, grants')
    const action = await policy({ employees: { actions: ['reed'], acl: { source: 'none' } } })
    expect(action.body.error.message).toBe('body.rules.employees.actions.0: must be one of read, write, delete')
    // A union of objects reports the branch its discriminator chose.
    const url = await policy({ employees: { actions: ['read'], acl: { source: 'external' } } })
    expect(url.body.error.message).toBe("body.rules.employees.acl.url: must have required property 'url'")
    const sort = await api('POST', '/api/models/things/find', { options: { sort: [{ name: 'up' }] } })
    expect(sort.body.error.message).toBe('body.options.sort.0.name: must be one of asc, desc')
  })

  it('an unknown property is named, with the known one it probably meant', async () => {
    const typo = await policy({ employees: { actions: ['read'], readabel: ['name'], acl: { source: 'none' } } })
    expect(typo.status).toBe(400)
    expect(typo.body.error.message).toBe('body.rules.employees.readabel: is not a known property; did you mean readable?')
    const far = await policy({ employees: { actions: ['read'], colour: 'red', acl: { source: 'none' } } })
    expect(far.body.error.message).toBe('body.rules.employees.colour: is not a known property')
  })

  it('a JSON body without content-type: application/json is a 415 that says so', async () => {
    const body = JSON.stringify({ name: 'g415' })
    for (const headers of [{ 'content-type': 'text/plain' }, {} as Record<string, string>]) {
      const response = await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body, headers })
      expect(response.status, JSON.stringify(headers)).toBe(415)
      expect(response.body.error).toMatchObject({ code: 'unsupported_media_type', message: 'send the body as application/json (content-type: application/json)' })
    }
    // A POST without a body needs no content type.
    const checkpoint = await h.request('POST', '/v1/spaces/default/audit/checkpoints', { token: h.adminToken })
    expect(checkpoint.status).toBe(201)
  })
})

describe('inputs that gave a 500', () => {
  it('NUL in a JSON object key is a 400 with the envelope, and on /api the refusal is audited', async () => {
    const before = (await refusals()).length
    const response = await raw('POST', '/api/models/things', '{"thing_id":"t2","doc":{"a\\u0000b":1}}')
    expect(response.status).toBe(400)
    expect(response.body.error).toMatchObject({ code: 'bad_request', message: expect.stringContaining('a property name: text may not contain the NUL character') })
    const after = await refusals()
    expect(after.length).toBe(before + 1)
    expect(after[0]!.meta).toMatchObject({ model: 'things', action: 'write', code: 'bad_request' })
    expect((await api('GET', '/api/models/things/t2')).status).toBe(404)
  })

  it('a lone UTF-16 surrogate in a string is a 400, in a jsonb value as in an audited name', async () => {
    for (const text of ['"\\ud800"', '"a\\udc00"', '"\\udbff\\u0041"']) {
      const json = await raw('POST', '/api/models/things', `{"thing_id":"t3","doc":{"note":${text}}}`)
      expect(json.status, text).toBe(400)
      expect(json.body.error.message).toContain("at 'note': text may not contain a lone UTF-16 surrogate")
      const name = await h.request('POST', '/v1/spaces/default/groups', { token: h.adminToken, body: `{"name":${text}}`, headers: { 'content-type': 'application/json' } })
      expect(name.status, text).toBe(400)
      expect(name.body.error.code).toBe('bad_request')
    }
    // A well-formed pair (an emoji) is a character like any other.
    const emoji = await raw('POST', '/api/models/things', '{"thing_id":"t3","name":"\\ud83d\\ude00","doc":{"note":"\\ud83d\\ude00"}}')
    expect(emoji.status).toBe(201)
    expect(emoji.body.name).toBe('😀')
    expect((await refusals())[0]!.meta).toMatchObject({ model: 'things', action: 'write', code: 'bad_request' })
  })

  it('a body refused on /api before the service runs is audited as a vault refusal', async () => {
    const before = (await refusals()).length
    const response = await api('POST', '/api/models/things/find', { filter: {}, options: { limit: 'ten' } })
    expect(response.status).toBe(400)
    expect(response.body.error.message).toBe('body.options.limit: must be integer')
    const after = await refusals()
    expect(after.length).toBe(before + 1)
    expect(after[0]!.meta).toMatchObject({ model: 'things', action: 'read', code: 'validation_failed' })
  })

  describe('/oauth/token answers malformed input in RFC 6749 form', () => {
    const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`
    const token = (headers: Record<string, string>, payload: string | object = { grant_type: 'client_credentials' }) =>
      h.request('POST', '/oauth/token', { body: payload, headers })

    it('a malformed Basic header is invalid_client', async () => {
      for (const authorization of [basic(`%E0%A4%A:${vault.clientSecret}`), basic(`${vault.clientId}:%zz`), 'Basic !!!', 'Basic', basic('no-colon'), `Basic ${Buffer.from([0xff, 0x3a, 0x41]).toString('base64')}`, basic(`${vault.clientId}%00:x`)]) {
        const response = await token({ authorization })
        expect(response.status, authorization).toBe(401)
        expect(response.body, authorization).toEqual({ error: 'invalid_client', error_description: expect.stringMatching(/^the Basic credentials /) })
        expect(response.headers['www-authenticate']).toBe('Basic realm="gatehouse"')
      }
      const good = await token({ authorization: basic(`${encodeURIComponent(vault.clientId)}:${encodeURIComponent(vault.clientSecret)}`) })
      expect(good.status).toBe(200)
    })

    it('a malformed, empty or mistyped body is invalid_request', async () => {
      const cases: Array<[Record<string, string>, string | object]> = [
        [{ 'content-type': 'application/json' }, '{"grant_type":'],
        [{ 'content-type': 'application/json' }, '{"grant_type":"client_credentials","client_id":"a\\u0000"}'],
        [{ 'content-type': 'application/json' }, '{"grant_type":"client_credentials","client_id":"\\ud800"}'],
        [{ 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials&client_id=%00'],
        [{ 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials&client_id=a\u0000b&client_secret=x'],
        [{ 'content-type': 'application/json' }, '[]'],
        [{ 'content-type': 'application/json' }, 'null'],
        [{}, { grant_type: { client_credentials: true } }],
        [{}, { grant_type: 'client_credentials', client_id: { id: 'a' }, client_secret: 'b' }],
      ]
      for (const [headers, payload] of cases) {
        const response = await token(headers, payload)
        const label = JSON.stringify(payload)
        expect(response.status, label).toBe(400)
        expect(response.body, label).toEqual({ error: 'invalid_request', error_description: expect.any(String) })
      }
      const empty = await h.request('POST', '/oauth/token')
      expect(empty.status).toBe(400)
      expect(empty.body.error).toBe('invalid_request')
    })
  })
})

describe('resource label filters', () => {
  it('refuse __proto__ and any other name that is not a label name, instead of matching everything', async () => {
    const seeded = await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', {
      token: h.adminToken,
      body: { resources: [{ kind: 'customer', id: 'c_1', labels: { plan: 'pro' } }, { kind: 'customer', id: 'c_2', labels: { plan: 'free' } }] },
    })
    expect(seeded.status).toBe(200)
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const response = await h.request('GET', `/v1/spaces/default/resources?label=${name}:x`, { token: h.adminToken })
      expect(response.status, name).toBe(400)
      expect(response.body.error.message).toBe(`querystring.label.0: '${name}' is reserved and cannot be a label name`)
    }
    const good = await h.request('GET', '/v1/spaces/default/resources?label=plan:pro', { token: h.adminToken })
    expect(good.body.resources.map((resource: { id: string }) => resource.id)).toEqual(['c_1'])
    const stored = await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', {
      token: h.adminToken,
      body: '{"resources":[{"kind":"customer","id":"c_3","labels":{"__proto__":"x"}}]}',
      headers: { 'content-type': 'application/json' },
    })
    expect(stored.status).toBe(400)
  })
})

describe('audit paging', () => {
  it('gives no nextCursor after the last page', async () => {
    const token = await h.createSpace('paging')
    const all = await h.request('GET', '/v1/spaces/paging/audit?limit=500', { token })
    const total = all.body.events.length
    expect(total).toBeGreaterThan(1)
    expect(all.body.nextCursor).toBeNull()
    const exact = await h.request('GET', `/v1/spaces/paging/audit?limit=${total}`, { token })
    expect(exact.body.events.length).toBe(total)
    expect(exact.body.nextCursor).toBeNull()
    const first = await h.request('GET', `/v1/spaces/paging/audit?limit=${total - 1}`, { token })
    expect(first.body.nextCursor).toEqual(expect.any(String))
    const last = await h.request('GET', `/v1/spaces/paging/audit?limit=${total - 1}&cursor=${first.body.nextCursor}`, { token })
    expect(last.body.events.length).toBe(1)
    expect(last.body.nextCursor).toBeNull()
  })
})
