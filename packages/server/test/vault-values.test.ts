import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'
import { setUpVault } from './vault-harness.js'

/** Issue 11: a bad value is a 400 naming the field, never a 500 from the database; every record id the vault creates can be addressed. */

let h: Harness
let token: string
beforeAll(async () => {
  h = await createHarness()
  const model = {
    name: 'people',
    primaryKey: 'id',
    fields: { id: { type: 'string' }, born: { type: 'date' }, seen_at: { type: 'datetime' }, note: { type: 'string' }, prefs: { type: 'json' }, visits: { type: 'integer' } },
  }
  await h.request('POST', '/v1/spaces/default/vault/models', { token: h.adminToken, body: { name: 'numbered', primaryKey: 'n', fields: { n: { type: 'integer' } } } })
  ;({ token } = await setUpVault(h, { people: { actions: ['read', 'write', 'delete'], acl: { source: 'none' } }, numbered: { actions: ['read'], acl: { source: 'none' } } }, model))
  expect((await h.request('POST', '/api/models/people', { token, body: { id: 'p1', born: '2000-01-01' } })).status).toBe(201)
}, 60_000)
afterAll(() => h.close())

const refusals = async () => (await h.request('GET', '/v1/spaces/default/audit?event=vault/refused&limit=50', { token: h.adminToken })).body.events as Array<{ meta: { code: string; message: string } }>

describe('record values', () => {
  it.each([
    ['an impossible date (not a leap year)', { id: 'x1', born: '2023-02-29' }, "body.born: expected a date 'YYYY-MM-DD'"],
    ['an impossible date (Feb 30)', { id: 'x2', born: '2023-02-30' }, "body.born: expected a date 'YYYY-MM-DD'"],
    ['year 0', { id: 'x3', born: '0000-01-01' }, "body.born: expected a date 'YYYY-MM-DD'"],
    ['an impossible date-time', { id: 'x4', seen_at: '2023-02-30T10:00:00Z' }, 'body.seen_at: expected an ISO 8601 date-time'],
    ['an hour 24', { id: 'x5', seen_at: '2023-01-01T24:00:00Z' }, 'body.seen_at: expected an ISO 8601 date-time'],
    ['an unsafe integer', { id: 'x9', visits: 2 ** 60 }, 'body.visits: expected an integer between'],
  ])('create with %s is a 400 naming the field, and the refusal is audited', async (_name, body, message) => {
    const response = await h.request('POST', '/api/models/people', { token, body })
    expect(response.status, response.text).toBe(400)
    expect(response.body.error.code).toBe('validation_failed')
    expect(response.body.error.message).toContain(message)
    expect((await refusals()).some((event) => event.meta.code === 'validation_failed' && event.meta.message.startsWith(message))).toBe(true)
  })

  // Text PostgreSQL cannot store is refused by the JSON parser, before any field is looked at; on
  // /api that refusal is audited too (the value validator below it catches what reaches it otherwise).
  it.each([
    ['a lone surrogate', { id: 'x6', note: 'a\ud800b' }, 'lone UTF-16 surrogate'],
    ['a NUL in a json key', { id: 'x7', prefs: { 'a\u0000': 1 } }, 'NUL character'],
    ['a lone surrogate in json', { id: 'x8', prefs: ['\udc00'] }, 'lone UTF-16 surrogate'],
  ])('create with %s is a 400 from the parser, and the refusal is audited', async (_name, body, message) => {
    const response = await h.request('POST', '/api/models/people', { token, body })
    expect(response.status, response.text).toBe(400)
    expect(response.body.error.code).toBe('bad_request')
    expect(response.body.error.message).toContain(message)
    expect((await refusals()).some((event) => event.meta.code === 'bad_request' && event.meta.message.includes(message))).toBe(true)
    expect((await h.request('GET', `/api/models/people/${body.id}`, { token })).status).toBe(404)
  })

  it('batch and patch share the validator; nothing is written', async () => {
    const batch = await h.request('POST', '/api/models/people/batch', { token, body: { records: [{ id: 'b1', born: '2024-02-29' }, { id: 'b2', born: '2023-02-29' }] } })
    expect(batch.status, batch.text).toBe(400)
    expect(batch.body.error.message).toBe("body.records.1.born: expected a date 'YYYY-MM-DD'")
    expect((await h.request('GET', '/api/models/people/b1', { token })).status).toBe(404)
    const patch = await h.request('PATCH', '/api/models/people/p1', { token, body: { born: '2023-02-30' } })
    expect(patch.status, patch.text).toBe(400)
    expect(patch.body.error.message).toBe("body.born: expected a date 'YYYY-MM-DD'")
    expect((await h.request('GET', '/api/models/people/p1', { token })).body.born).toBe('2000-01-01')
  })

  it('a real leap day and a date-time without seconds are accepted', async () => {
    const created = await h.request('POST', '/api/models/people', { token, body: { id: 'leap', born: '2024-02-29', seen_at: '2024-02-29T23:59+01:00' } })
    expect(created.status, created.text).toBe(201)
    expect(created.body).toMatchObject({ born: '2024-02-29', seen_at: '2024-02-29T22:59:00Z' })
  })

  it('a filter refuses an impossible date with the same message', async () => {
    const find = await h.request('POST', '/api/models/people/find', { token, body: { filter: { born: { $gte: '2023-02-29' } } } })
    expect(find.status).toBe(400)
    expect(find.body.error.message).toBe("filter.born.$gte: expected a date 'YYYY-MM-DD'")
  })
})

describe('record ids', () => {
  const long = 'i'.repeat(150)
  const longest = 'k'.repeat(128)

  it('an id longer than 128 characters is a 400 on create, batch and every id route; never created', async () => {
    const created = await h.request('POST', '/api/models/people', { token, body: { id: long } })
    expect(created.status, created.text).toBe(400)
    expect(created.body.error.message).toBe('body.id: longer than 128 characters')
    const batch = await h.request('POST', '/api/models/people/batch', { token, body: { records: [{ id: 'fine' }, { id: long }] } })
    expect(batch.status).toBe(400)
    expect(batch.body.error.message).toBe('body.records.1.id: longer than 128 characters')
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const response = await h.request(method, `/api/models/people/${long}`, { token, ...(method === 'PATCH' ? { body: { note: 'x' } } : {}) })
      expect(response.status, `${method} ${response.text}`).toBe(400)
      expect(response.body.error.code).toBe('validation_failed')
    }
    const rows = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM vault."${(await h.db.query<{ t: string }>("SELECT table_name AS t FROM vault_models WHERE name = 'people'")).rows[0]!.t}" WHERE length(id) > 128`)
    expect(rows.rows[0]!.n).toBe(0)
  })

  it('an id of exactly 128 characters, even non-ASCII, is created and reachable by GET, PATCH and DELETE', async () => {
    for (const id of [longest, '€'.repeat(64) + '😀'.repeat(64)]) {
      expect((await h.request('POST', '/api/models/people', { token, body: { id } })).status).toBe(201)
      const path = `/api/models/people/${encodeURIComponent(id)}`
      expect((await h.request('GET', path, { token })).status).toBe(200)
      expect((await h.request('PATCH', path, { token, body: { note: 'x' } })).status).toBe(200)
      expect((await h.request('DELETE', path, { token })).status).toBe(204)
    }
  })

  it('an empty id is refused', async () => {
    const created = await h.request('POST', '/api/models/people', { token, body: { id: '' } })
    expect(created.status).toBe(400)
    expect(created.body.error.message).toBe('body.id: a record id cannot be empty')
  })

  it('an integer id beyond the safe range does not reach a neighbour', async () => {
    const table = (await h.db.query<{ t: string }>("SELECT table_name AS t FROM vault_models WHERE name = 'numbered'")).rows[0]!.t
    await h.db.query(`INSERT INTO vault."${table}" (n) VALUES (9007199254740992)`)
    expect((await h.request('GET', '/api/models/numbered/9007199254740992', { token })).status).toBe(404) // not safe: not an id the API can name exactly
    expect((await h.request('GET', '/api/models/numbered/9007199254740993', { token })).status).toBe(404)
  })
})

describe('find', () => {
  it('the schema states the real bound on options.limit, in the OpenAPI document too', async () => {
    const openapi = await h.request('GET', '/openapi.json')
    const body = openapi.body.paths['/api/models/{model}/find'].post.requestBody.content['application/json'].schema
    expect(body.properties.options.properties.limit).toMatchObject({ minimum: 1, maximum: 100 })
    const tooMany = await h.request('POST', '/api/models/people/find', { token, body: { options: { limit: 101 } } })
    expect(tooMany.status).toBe(400)
    expect(tooMany.body.error.code).toBe('validation_failed')
  })
})
