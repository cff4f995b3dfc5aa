import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FieldSpec } from '../src/modules/vault/find/filter-types.js'
import { createHarness, type Harness } from './harness.js'
import { matches } from './vault-filter-evaluator.js'
import { setUpVault } from './vault-harness.js'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

const admin = (method: string, url: string, body?: unknown) => h.request(method, `/v1/spaces/default/vault${url}`, { token: h.adminToken, body })
const tableOf = async (model: string) => (await h.db.query<{ t: string; s: string }>('SELECT table_name AS t, space_id AS s FROM vault_models WHERE name = $1', [model])).rows[0]!
const api = (token: string) => ({
  post: (url: string, body: unknown) => h.request('POST', `/api/models${url}`, { token, body }),
  get: (url: string) => h.request('GET', `/api/models${url}`, { token }),
  find: (model: string, body: unknown) => h.request('POST', `/api/models/${model}/find`, { token, body }),
})

const PATIENT_FIELDS = {
  id: { type: 'string' },
  name: { type: 'string', encrypted: true, searchable: 'equality' },
  born: { type: 'date', encrypted: true, searchable: 'equality' },
  score: { type: 'integer', encrypted: true },
  ratio: { type: 'decimal', encrypted: true },
  seen: { type: 'datetime', encrypted: true, searchable: 'equality' },
  notes: { type: 'json', encrypted: true },
  city: { type: 'string' },
}
const plainTwin = Object.fromEntries(Object.entries(PATIENT_FIELDS).map(([name, { type }]) => [name, { type }]))
const PATIENTS = [
  { id: 'p1', name: 'Zebulon-Qx7', born: '1987-03-14', score: 987654321, ratio: 31.4159, seen: '2021-07-08T09:10:11Z', notes: { diagnosis: 'secret-note-xyz' }, city: 'Lisbon' },
  { id: 'p2', name: 'Ottoline-Vk2', born: '1990-12-01', score: -5550177123, ratio: 0.1250973, seen: '2022-01-02T03:04:05.678+02:00', notes: ['another-secret-abc'], city: 'Porto' },
  { id: 'p3', name: 'Zebulon-Qx7', born: null, score: null, ratio: null, seen: null, notes: null, city: 'Lisbon' },
]
// Long enough not to turn up by chance in a timestamp (`…40.125+00`) or a hex hash of the dump.
const PLAINTEXTS = ['Zebulon-Qx7', 'Ottoline-Vk2', '1987-03-14', '1990-12-01', '987654321', '5550177123', '31.4159', '0.1250973', '2021-07-08', '2022-01-02', 'secret-note-xyz', 'another-secret-abc']

let token: string
beforeAll(async () => {
  expect((await admin('POST', '/models', { name: 'patients', primaryKey: 'id', fields: PATIENT_FIELDS })).status).toBe(201)
  expect((await admin('POST', '/models', { name: 'patients_plain', primaryKey: 'id', fields: plainTwin })).status).toBe(201)
  ;({ token } = await setUpVault(h, { patients: { actions: ['read', 'write'], acl: { source: 'none' } }, patients_plain: { actions: ['read', 'write'], acl: { source: 'none' } } }, null))
  for (const record of PATIENTS) {
    const created = await api(token).post('/patients', record)
    expect(created.status, created.text).toBe(201)
    expect((await api(token).post('/patients_plain', record)).status).toBe(201)
  }
})

/** Every row of every table of the database, as text: what a dump holds. */
async function dump(): Promise<string> {
  const { rows } = await h.db.query<{ s: string; t: string }>("SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_schema IN ('public', 'vault') AND table_type = 'BASE TABLE'")
  const out: string[] = []
  for (const { s, t } of rows) {
    if (t === 'patients_plain' || t === (await tableOf('patients_plain')).t) continue
    out.push(...(await h.db.query<{ r: string }>(`SELECT t::text AS r FROM "${s}"."${t}" t`)).rows.map((row) => row.r))
  }
  return out.join('\n')
}

describe('encrypted fields', () => {
  it('answer exactly what plain fields answer, while a dump of every table holds no plaintext of them', async () => {
    for (const id of ['p1', 'p2', 'p3']) {
      const encrypted = await api(token).get(`/patients/${id}`)
      const plain = await api(token).get(`/patients_plain/${id}`)
      expect(encrypted.status, encrypted.text).toBe(200)
      expect({ ...encrypted.body, created_at: 0, updated_at: 0 }).toEqual({ ...plain.body, created_at: 0, updated_at: 0 })
    }
    const text = await dump()
    expect(text).toContain('Lisbon') // the plain field is there: the dump is real
    for (const secret of PLAINTEXTS) expect(text, secret).not.toContain(secret)
    const { rows } = await h.db.query<{ name: Uint8Array }>(`SELECT name FROM vault."${(await tableOf('patients')).t}" WHERE id = 'p1'`)
    expect(Buffer.from(rows[0]!.name).length).toBeGreaterThan(17 + 16) // format, key version, nonce, ciphertext, tag
  })

  it('a ciphertext swapped between two rows, or moved to another field, is refused with integrity_failed and audited', async () => {
    await admin('POST', '/models', { name: 'swapped', primaryKey: 'id', fields: { id: { type: 'string' }, a: { type: 'string', encrypted: true }, b: { type: 'string', encrypted: true } } })
    const { token: swapToken } = await setUpVault(h, { swapped: { actions: ['read', 'write'], acl: { source: 'none' } } }, null)
    for (const id of ['r1', 'r2']) expect((await api(swapToken).post('/swapped', { id, a: `a of ${id}`, b: `b of ${id}` })).status).toBe(201)
    const table = `vault."${(await tableOf('swapped')).t}"`
    await h.db.query(`UPDATE ${table} SET a = (SELECT a FROM ${table} WHERE id = 'r2') WHERE id = 'r1'`)
    await h.db.query(`UPDATE ${table} SET a = b WHERE id = 'r2'`)
    for (const id of ['r1', 'r2']) {
      const read = await api(swapToken).get(`/swapped/${id}`)
      expect(read.status, read.text).toBe(422)
      expect(read.body.error.code).toBe('integrity_failed')
      expect(read.body.error.message).toContain(`'${id}'`)
      expect(read.text).not.toContain('of r')
    }
    const found = await api(swapToken).find('swapped', {})
    expect(found.body.error.code).toBe('integrity_failed')
    const audited = await h.request('GET', '/v1/spaces/default/audit?event=vault/refused&limit=500', { token: h.adminToken })
    const refusals = (audited.body.events as Array<{ meta: Record<string, unknown> }>).filter((event) => event.meta.code === 'integrity_failed')
    expect(refusals.map((event) => event.meta.model)).toEqual(['swapped', 'swapped', 'swapped'])
    expect(JSON.stringify(refusals)).not.toContain('of r') // the event names the record and field, never a value
  })

  it('filter by equality through the blind index; range, $like, sort and comparisons inside $or/$not are refused with the reason', async () => {
    const ids = async (filter: unknown) => {
      const found = await api(token).find('patients', { filter })
      expect(found.status, found.text).toBe(200)
      return found.body.data.map((record: { id: string }) => record.id)
    }
    expect(await ids({ name: 'Zebulon-Qx7' })).toEqual(['p1', 'p3'])
    expect(await ids({ name: { $in: ['Ottoline-Vk2', 'nobody'] } })).toEqual(['p2'])
    expect(await ids({ name: { $ne: 'Zebulon-Qx7' } })).toEqual(['p2'])
    expect(await ids({ born: { $nin: ['1987-03-14'] } })).toEqual(['p2', 'p3'])
    expect(await ids({ born: null })).toEqual(['p3'])
    expect(await ids({ notes: { $exists: true } })).toEqual(['p1', 'p2'])
    expect(await ids({ seen: '2022-01-02T01:04:05.678Z' })).toEqual(['p2']) // the same instant, written in another zone
    expect(await ids({ name: 'Zebulon-Qx7', city: 'Lisbon', $or: [{ city: 'Porto' }, { born: { $exists: false } }] })).toEqual(['p3'])
    const refused = async (body: unknown, says: string) => {
      const found = await api(token).find('patients', body)
      expect(found.status, found.text).toBe(400)
      expect(found.body.error.message).toContain(says)
    }
    await refused({ filter: { name: { $gt: 'A' } } }, "field 'name' is encrypted: only $eq, $in, $ne, $nin")
    await refused({ filter: { name: { $like: 'Zeb%' } } }, 'a pattern would need the plaintext')
    await refused({ options: { sort: [{ born: 'asc' }] } }, "field 'born' is encrypted: it cannot be sorted on")
    await refused({ filter: { score: 987654321 } }, "field 'score' is encrypted without an equality index")
    await refused({ filter: { $or: [{ name: 'Zebulon-Qx7' }, { city: 'Porto' }] } }, 'not inside $or or $not')
    await refused({ filter: { name: { $not: { $eq: 'Zebulon-Qx7' } } } }, 'not inside $or or $not')
  })

  it('a deliberately short index shares its values among many rows, and the exact check drops every false positive', async () => {
    await admin('POST', '/models', { name: 'short', primaryKey: 'id', fields: { id: { type: 'integer' }, name: { type: 'string', encrypted: true, searchable: 'equality', indexBits: 1 } } })
    const { token: shortToken } = await setUpVault(h, { short: { actions: ['read', 'write'], acl: { source: 'none' } } }, null)
    const batch = await h.request('POST', '/api/models/short/batch', { token: shortToken, body: { records: Array.from({ length: 40 }, (_, id) => ({ id, name: `name-${id}` })) } })
    expect(batch.status, batch.text).toBeLessThan(300)
    const table = `vault."${(await tableOf('short')).t}"`
    const sharing = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE _bi_name = (SELECT _bi_name FROM ${table} WHERE id = 7)`)
    expect(sharing.rows[0]!.n).toBeGreaterThan(5)
    const found = await api(shortToken).find('short', { filter: { name: 'name-7' } })
    expect(found.body.data).toEqual([expect.objectContaining({ id: 7, name: 'name-7' })])
    expect(found.body.meta.total).toBe(1)
    const some = await api(shortToken).find('short', { filter: { name: { $in: ['name-1', 'name-2', 'name-39', 'nope'] } }, options: { limit: 2, offset: 1 } })
    expect(some.body.data.map((record: { id: number }) => record.id)).toEqual([2, 39])
    expect(some.body.meta.total).toBe(3)
  })

  it('equality on encrypted fields answers exactly what the filter means (property test against the in-memory evaluator)', async () => {
    await admin('POST', '/models', {
      name: 'props',
      primaryKey: 'id',
      fields: { id: { type: 'integer' }, name: { type: 'string', encrypted: true, searchable: 'equality', indexBits: 2 }, n: { type: 'integer', encrypted: true, searchable: 'equality', indexBits: 2 }, tag: { type: 'string' } },
    })
    const { token: propsToken } = await setUpVault(h, { props: { actions: ['read', 'write'], acl: { source: 'none' } } }, null)
    const names = ['ann', 'bob', 'cy', 'dee', 'Ann', 'ann ']
    const value = { name: fc.constantFrom(...names), n: fc.integer({ min: -3, max: 3 }) }
    const rows = fc.sample(fc.record({ name: fc.option(value.name, { freq: 4 }), n: fc.option(value.n, { freq: 4 }), tag: fc.option(fc.constantFrom('x', 'y'), { freq: 4 }) }), { numRuns: 40, seed: 17 }).map((row, id) => ({ id, ...row }))
    expect((await h.request('POST', '/api/models/props/batch', { token: propsToken, body: { records: rows } })).status).toBeLessThan(300)
    const fields = new Map<string, FieldSpec>(['id', 'name', 'n', 'tag'].map((name) => [name, { name, type: name === 'id' || name === 'n' ? 'integer' : 'string', column: name }]))
    const condition = (arb: fc.Arbitrary<unknown>) => {
      const orNull = fc.option(arb, { freq: 4 })
      const list = fc.array(orNull, { maxLength: 4 })
      return fc.oneof(orNull, orNull.map(($eq) => ({ $eq })), orNull.map(($ne) => ({ $ne })), list.map(($in) => ({ $in })), list.map(($nin) => ({ $nin })), fc.boolean().map(($exists) => ({ $exists })))
    }
    const filter = fc.record(
      { name: condition(value.name), n: condition(value.n), $or: fc.array(fc.record({ tag: condition(fc.constantFrom('x', 'y')) }), { minLength: 1, maxLength: 2 }) },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(filter, async (query) => {
        const found = await api(propsToken).find('props', { filter: query })
        expect(found.status, found.text).toBe(200)
        const expected = rows.filter((row) => matches(query, row, fields)).map((row) => row.id)
        expect(found.body.data.map((record: { id: number }) => record.id)).toEqual(expected.slice(0, 100))
        expect(found.body.meta.total).toBe(expected.length)
      }),
      { numRuns: 60 },
    )
  })

  it('reads try every live key version and filters search every live index version, during a rotation', async () => {
    const { s: spaceId } = await tableOf('patients')
    const keys = h.built.services.keys
    expect(await keys.rotateDataKey(spaceId)).toBe(2)
    expect(await keys.rotateIndexKey(spaceId, 'patients', 'name')).toBe(2)
    expect((await api(token).post('/patients', { id: 'p4', name: 'Zebulon-Qx7', city: 'Faro' })).status).toBe(201)
    const found = await api(token).find('patients', { filter: { name: 'Zebulon-Qx7' } })
    expect(found.body.data.map((record: { id: string }) => record.id)).toEqual(['p1', 'p3', 'p4'])
    const table = `vault."${(await tableOf('patients')).t}"`
    const versions = await h.db.query<{ v: number }>(`SELECT DISTINCT get_byte(name, 4) AS v FROM ${table} WHERE name IS NOT NULL ORDER BY 1`)
    expect(versions.rows.map((row) => row.v)).toEqual([1, 2])
    // Without the old key (what the re-encryption job makes safe), an old record no longer opens.
    await keys.retireDataKey(spaceId, 1)
    expect((await api(token).get('/patients/p4')).status).toBe(200)
    expect((await api(token).get('/patients/p1')).body.error.code).toBe('integrity_failed')
  })
})

describe('encrypted field definitions', () => {
  it('refuse what cannot be encrypted or indexed, and changes that would rewrite every record', async () => {
    const refused = async (fields: Record<string, unknown>, says: string) => {
      const created = await admin('POST', '/models', { name: 'bad', primaryKey: 'id', fields: { id: { type: 'string' }, ...fields } })
      expect(created.status, created.text).toBe(400)
      expect(created.body.error.message).toContain(says)
    }
    await refused({ flag: { type: 'boolean', encrypted: true } }, 'a boolean field cannot be encrypted')
    await refused({ doc: { type: 'json', encrypted: true, searchable: 'equality' } }, 'a json field cannot be equality-searchable')
    await refused({ name: { type: 'string', searchable: 'equality' } }, "'equality' is for encrypted fields")
    await refused({ name: { type: 'string', encrypted: true, searchable: true } }, 'an encrypted field has no plain index')
    await refused({ name: { type: 'string', indexBits: 8 } }, 'they apply only to an encrypted field')
    const key = await admin('POST', '/models', { name: 'bad', primaryKey: 'id', fields: { id: { type: 'string', encrypted: true } } })
    expect(key.body.error.message).toContain('the primary key cannot be encrypted')
    const model = (await admin('GET', '/models/patients')).body
    expect(model.fields.name.indexBits).toBe(18) // from the default 1,000,000 expected rows: floor(log2(N)) - 1
    // Making a field encrypted runs a job (test/vault-convert.test.ts), but only as a change of its own.
    const toggled = await admin('PUT', '/models/patients', { primaryKey: 'id', fields: { ...model.fields, city: { type: 'json', encrypted: true } } })
    expect(toggled.status).toBe(409)
    expect(toggled.body.error.message).toContain("cannot change the type of field 'city' while making it encrypted: make one change at a time")
    const added = await admin('PUT', '/models/patients', { primaryKey: 'id', fields: { ...model.fields, phone: { type: 'string', encrypted: true, searchable: 'equality', expectedRows: 1000 } } })
    expect(added.status, added.text).toBe(200)
    expect(added.body.fields.phone.indexBits).toBe(8)
    expect((await api(token).post('/patients', { id: 'p9', phone: '+351 912 345 678' })).status).toBe(201)
    expect((await api(token).find('patients', { filter: { phone: '+351 912 345 678' } })).body.data.map((record: { id: string }) => record.id)).toEqual(['p9'])
  })
})
