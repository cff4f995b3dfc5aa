import { readFileSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Harness } from './harness.js'

/** Reference 004's two JSON schemas, taken from the reference document itself. */
export function referenceSchemas(): { request: object; response: object } {
  const text = readFileSync(new URL('../../../../shared/reference/004_6dd7665ec5d5c959.txt', import.meta.url), 'utf8')
  const after = (marker: string) => {
    const start = text.indexOf('{', text.indexOf(marker))
    let depth = 0
    for (let i = start; i < text.length; i += 1) {
      if (text[i] === '{') depth += 1
      if (text[i] === '}' && --depth === 0) return JSON.parse(text.slice(start, i + 1)) as object
    }
    throw new Error(`no JSON after ${marker}`)
  }
  return { request: after('JSON schema of a request body'), response: after('JSON schema of a response body') }
}

export interface FilterEndpoint {
  url: string
  calls: Array<{ headers: IncomingHttpHeaders; body: string }>
  /** How to answer the next calls: status, body text, optional delay. */
  answer: (body: Record<string, unknown>) => { status: number; body: string; delayMs?: number }
  close(): Promise<void>
}

/** A real filter endpoint on a local port, as an application would run one. */
export async function startFilterEndpoint(): Promise<FilterEndpoint> {
  const endpoint: FilterEndpoint = {
    url: '',
    calls: [],
    answer: () => ({ status: 200, body: '{}' }),
    close: async () => undefined,
  }
  const server: Server = createServer((req, res) => {
    let raw = ''
    req.on('data', (chunk) => (raw += chunk))
    req.on('end', () => {
      endpoint.calls.push({ headers: req.headers, body: raw })
      const reply = endpoint.answer(JSON.parse(raw) as Record<string, unknown>)
      const timer = setTimeout(() => res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body), reply.delayMs ?? 0)
      res.on('close', () => clearTimeout(timer))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/filter-endpoint`
  endpoint.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return endpoint
}

export const EMPLOYEES = {
  name: 'employees',
  primaryKey: 'employee_id',
  fields: {
    employee_id: { type: 'string' },
    first_name: { type: 'string' },
    last_name: { type: 'string' },
    deals_ratio: { type: 'decimal', searchable: true },
    yearly_spending: { type: 'integer', searchable: true },
  },
}

/** Model (unless null: it exists), policy and client through the admin API; returns a vault token for the data plane. */
export async function setUpVault(h: Harness, rules: Record<string, unknown>, model: object | null = EMPLOYEES): Promise<{ token: string; clientId: string; clientSecret: string; policyId: string }> {
  if (model) {
    const created = await h.request('POST', '/v1/spaces/default/vault/models', { token: h.adminToken, body: model })
    if (created.status !== 201 && created.status !== 409) throw new Error(`model: ${created.status} ${created.text}`)
  }
  const policy = await h.request('POST', '/v1/spaces/default/vault/policies', { token: h.adminToken, body: { name: `policy-${Math.random().toString(36).slice(2)}`, rules } })
  if (policy.status !== 201) throw new Error(`policy: ${policy.status} ${policy.text}`)
  const client = await h.request('POST', '/v1/spaces/default/vault/clients', { token: h.adminToken, body: { name: 'frontend', policyId: policy.body.id } })
  if (client.status !== 201) throw new Error(`client: ${client.status} ${client.text}`)
  const token = await h.request('POST', '/oauth/token', { body: { grant_type: 'client_credentials', client_id: client.body.clientId, client_secret: client.body.clientSecret } })
  if (token.status !== 200) throw new Error(`token: ${token.status} ${token.text}`)
  return { token: token.body.access_token, clientId: client.body.clientId, clientSecret: client.body.clientSecret, policyId: policy.body.id }
}
