import { Ajv } from 'ajv'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'
import { EMPLOYEES, referenceSchemas, setUpVault, startFilterEndpoint, type FilterEndpoint } from './vault-harness.js'

const CLIENT_TOKEN = 'app-session-token-of-the-current-user'

/** Reference 004's model as published, and with `last_name` and `first_name` encrypted (`first_name` equality-searchable). */
const VARIANTS = [
  { name: 'plain fields', model: EMPLOYEES },
  {
    name: 'first_name and last_name encrypted',
    model: { ...EMPLOYEES, fields: { ...EMPLOYEES.fields, first_name: { type: 'string', encrypted: true, searchable: 'equality' }, last_name: { type: 'string', encrypted: true } } },
  },
] as const

/** Each answer's exact text, by variant then request: the encrypted walk must answer byte for byte as the plain one. */
const answers = new Map<string, string>()
const sameAnswer = (variant: string, request: string, text: string) => {
  if (variant === VARIANTS[0].name) answers.set(request, text)
  else expect(text).toBe(answers.get(request))
}

describe.each(VARIANTS)('reference 004 walk, $name', ({ name: variant, model }) => {
  let h: Harness
  let endpoint: FilterEndpoint
  let vaultToken: string

  beforeAll(async () => {
    h = await createHarness()
    endpoint = await startFilterEndpoint()
    // Reference 004's filter endpoint: reads are narrowed to two ids, writes allowed on everything.
    endpoint.answer = (body) =>
      body.action === 'v1.restapi.read' ? { status: 200, body: JSON.stringify({ employee_id: ['first_employee_id', 'second_employee_id'] }) } : { status: 200, body: JSON.stringify({ employee_id: '*' }) }
    ;({ token: vaultToken } = await setUpVault(h, {
      employees: {
        actions: ['read', 'write', 'delete'],
        readable: ['employee_id', 'first_name', 'deals_ratio'],
        filterable: ['yearly_spending'],
        acl: { source: 'external', url: endpoint.url },
      },
    }, model))
    const seed = [
      { employee_id: 'first_employee_id', first_name: 'John', last_name: 'Smith', deals_ratio: 6.0, yearly_spending: 90000, at: '2023-09-02T13:07:01Z' },
      { employee_id: 'second_employee_id', first_name: 'John', last_name: 'Doe', deals_ratio: 4.5, yearly_spending: 80000, at: '2023-09-01T13:07:01Z' },
      { employee_id: 'third_employee_id', first_name: 'Jane', last_name: 'Doe', deals_ratio: 5.2, yearly_spending: 70000, at: '2023-09-02T13:07:01Z' },
    ]
    for (const { at, ...record } of seed) {
      const created = await h.request('POST', '/api/models/employees', { token: vaultToken, headers: { 'x-client-auth': `Bearer ${CLIENT_TOKEN}` }, body: record })
      expect(created.status, created.text).toBe(201)
      const { rows } = await h.db.query<{ table_name: string }>("SELECT table_name FROM vault_models WHERE name = 'employees'")
      await h.db.query(`UPDATE vault."${rows[0]!.table_name}" SET created_at = $1, updated_at = $1 WHERE employee_id = $2`, [at, record.employee_id])
    }
    endpoint.calls.length = 0
  })
  afterAll(async () => {
    await endpoint.close()
    await h.close()
  })

  describe("reference 004's find with an external ACL", () => {
    it('answers exactly the reference final response', async () => {
      // The reference's curl, with our host and tokens.
      const response = await h.request('POST', '/api/models/employees/find', {
        token: vaultToken,
        headers: { 'x-client-auth': `Bearer ${CLIENT_TOKEN}`, 'content-type': 'application/json' },
        body: { filter: { deals_ratio: { $gt: 4.0 }, yearly_spending: { $lte: 100000 } } },
      })
      expect(response.status, response.text).toBe(200)
      expect(response.body.data).toEqual([
        { employee_id: 'first_employee_id', first_name: 'John', deals_ratio: 6.0, created_at: '2023-09-02T13:07:01Z', updated_at: '2023-09-02T13:07:01Z' },
        { employee_id: 'second_employee_id', first_name: 'John', deals_ratio: 4.5, created_at: '2023-09-01T13:07:01Z', updated_at: '2023-09-01T13:07:01Z' },
      ])
      expect(response.body.meta.total).toBe(2)
      expect(Object.keys(response.body.data[0])).toEqual(['employee_id', 'first_name', 'deals_ratio', 'created_at', 'updated_at'])
      expect(response.text).not.toContain('last_name')
      expect(response.text).not.toContain('Smith')
      sameAnswer(variant, 'find', response.text)
    })

    it('a find by first_name answers the same rows (through the blind index when it is encrypted)', async () => {
      const response = await h.request('POST', '/api/models/employees/find', {
        token: vaultToken,
        headers: { 'x-client-auth': `Bearer ${CLIENT_TOKEN}` },
        body: { filter: { first_name: 'John', yearly_spending: { $lte: 100000 } } },
      })
      expect(response.status, response.text).toBe(200)
      expect(response.body.data.map((record: { employee_id: string }) => record.employee_id)).toEqual(['first_employee_id', 'second_employee_id'])
      sameAnswer(variant, 'find by first_name', response.text)
      const jane = await h.request('POST', '/api/models/employees/find', { token: vaultToken, headers: { 'x-client-auth': `Bearer ${CLIENT_TOKEN}` }, body: { filter: { first_name: { $in: ['Jane', 'Nobody'] } } } })
      expect(jane.body.meta.total).toBe(0) // Jane is the third employee, whom the ACL does not let this user read
      sameAnswer(variant, 'find by first_name $in', jane.text)
    })

    it('sends the filter endpoint exactly what the reference shows, valid against its request schema', async () => {
      endpoint.calls.length = 0
      await h.request('POST', '/api/models/employees/find', {
        token: vaultToken,
        headers: { 'x-client-auth': `Bearer ${CLIENT_TOKEN}` },
        body: { filter: { deals_ratio: { $gt: 4.0 }, yearly_spending: { $lte: 100000 } } },
      })
      expect(endpoint.calls).toHaveLength(1)
      const call = endpoint.calls[0]!
      expect(call.headers.authorization).toBe(`Bearer ${CLIENT_TOKEN}`)
      const body = JSON.parse(call.body)
      expect(body).toEqual({ action: 'v1.restapi.read', type: 'employees', employee_id: ['first_employee_id', 'second_employee_id', 'third_employee_id'] })
      const validate = new Ajv({ strict: false }).compile(referenceSchemas().request)
      expect(validate(body), JSON.stringify(validate.errors)).toBe(true)
      // And the reference's own example answer validates against the response schema.
      expect(new Ajv({ strict: false }).compile(referenceSchemas().response)({ employee_id: ['first_employee_id', 'second_employee_id'] })).toBe(true)
    })

    it('reads by id with read, writes with write, deletes with delete', async () => {
      endpoint.calls.length = 0
      expect((await h.request('GET', '/api/models/employees/third_employee_id', { token: vaultToken, headers: { 'x-client-auth': `Bearer ${CLIENT_TOKEN}` } })).status).toBe(404)
      const patched = await h.request('PATCH', '/api/models/employees/first_employee_id', { token: vaultToken, headers: { 'x-client-auth': `Bearer ${CLIENT_TOKEN}` }, body: { deals_ratio: 6.5 } })
      expect(patched.status, patched.text).toBe(200)
      expect(patched.body.deals_ratio).toBe(6.5)
      sameAnswer(variant, 'patch', patched.text.replace(/"updated_at":"[^"]*"/, ''))
      expect(endpoint.calls.map((call) => JSON.parse(call.body).action)).toEqual(['v1.restapi.read', 'v1.restapi.write'])
      expect(JSON.parse(endpoint.calls[1]!.body)).toEqual({ action: 'v1.restapi.write', type: 'employees', employee_id: ['first_employee_id'] })
    })

    it('refuses to filter or sort on a hidden field, and to write one', async () => {
      const hidden = await h.request('POST', '/api/models/employees/find', { token: vaultToken, headers: { 'x-client-auth': `Bearer ${CLIENT_TOKEN}` }, body: { filter: { last_name: 'Doe' } } })
      expect(hidden.status).toBe(400)
      expect(hidden.body.error.message).toContain('filter.last_name')
      const sorted = await h.request('POST', '/api/models/employees/find', { token: vaultToken, headers: { 'x-client-auth': `Bearer ${CLIENT_TOKEN}` }, body: { options: { sort: [{ last_name: 'asc' }] } } })
      expect(sorted.status).toBe(400)
      const tooMany = await h.request('POST', '/api/models/employees/find', { token: vaultToken, headers: { 'x-client-auth': `Bearer ${CLIENT_TOKEN}` }, body: { options: { limit: 101 } } })
      expect(tooMany.status).toBe(400)
      expect(tooMany.body.error.message).toBe('body.options.limit: must be <= 100') // the schema's bound, as /openapi.json states it
    })
  })
})
