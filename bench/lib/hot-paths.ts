import { customerId, customers } from './data.js'
import type { Stack } from './stack.js'
import type { Progress } from './types.js'
import { createTicketsModel, fillTickets, findQueries, vaultClient, vaultToken, type VaultClient } from './vault-fixture.js'

/**
 * The two hot paths the scale-out scenario and the soak drive: the access check (approval() for a
 * pair holding an active grant, as scenario 1) and the selective vault find (one customer's tickets
 * under a field policy, as scenario 2's policy arm), prepared on a stack through its API.
 */
export interface HotPaths {
  space: string
  adminToken: string
  /** A service-account token with access:request (the application asking). */
  portalToken: string
  access: { path: string; body: string }
  find: { path: string; body: string; client: VaultClient }
}

/** A request that must answer 2xx; answers the response text. */
export async function send(url: string, init: { method?: string; token?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: init.method ?? 'POST',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
    signal: AbortSignal.timeout(60_000),
  })
  return { status: response.status, text: await response.text() }
}

export async function prepareHotPaths(stack: Stack, options: { fillerGrants: number; rows: number; bar: Progress }): Promise<HotPaths> {
  const { space } = stack
  const portalToken = await stack.serviceToken('bench-portal', 'admin', ['access:request', 'resources:write'])
  const resourceCount = Math.max(10, Math.min(options.fillerGrants, 1000))
  await stack.api('POST', `/v1/spaces/${space}/resources:bulkUpdate`, { token: portalToken, body: { resources: customers(resourceCount) } })
  // Other people's grants, so the lookup runs against an index with rows in it (as scenario 1).
  await stack.db.query(
    `INSERT INTO petitions (space_id, id, request_key, state, petitioners, resources, reason, rule, created_by)
     VALUES ($1, 'pet_bench_filler', 'bench-filler', 'granted', '[]', '[]', 'bench filler', '{}', '{}')`,
    [space],
  )
  await stack.db.query(
    `INSERT INTO grants (space_id, id, petition_id, petitioner_id, petitioner_email, petitioner_user_id, resource_kind, resource_id, starts_at, expires_at)
     SELECT $1, 'grt_bench_' || g, 'pet_bench_filler', 'usr_filler_' || (g % 500), 'filler-' || (g % 500) || '@example.com', 'usr_filler_' || (g % 500),
       'customer', 'c_' || lpad((g % $3)::text, 7, '0'), now() - interval '1 hour', now() + interval '1 day'
     FROM generate_series(1, $2::int) AS g`,
    [space, options.fillerGrants, resourceCount],
  )
  await stack.db.query('ANALYZE grants')
  await stack.api('POST', `/v1/spaces/${space}/policies`, {
    body: { name: 'bench auto-approve', priority: 10, match: { resourceKinds: ['customer'] }, decision: { type: 'auto_approve', durationSeconds: 86_400 } },
  })
  const access = {
    path: `/v1/spaces/${space}/approvals`,
    body: JSON.stringify({ petitioners: [{ kind: 'user', id: 'usr_bench_agent', email: 'agent@example.com' }], resources: [{ kind: 'customer', id: customerId(1) }] }),
  }
  const first = await send(`${stack.baseUrl}${access.path}`, { token: portalToken, body: access.body })
  if (first.status !== 200 || JSON.parse(first.text).status !== 'granted') throw new Error(`the auto_approve policy did not grant the pair: ${first.status} ${first.text}`)

  const tableName = await createTicketsModel(stack)
  await fillTickets(stack, tableName, options.rows, options.bar)
  const client = await vaultClient(stack, 'bench scale-out', { source: 'none' })
  const find = { path: '/api/models/tickets/find', body: JSON.stringify(findQueries(options.rows)[0]!.body), client }
  return { space, adminToken: stack.adminToken, portalToken, access, find }
}

/** The exact bodies both paths answer (the same on every node): any other answer under load is a failure. */
export async function expectedBodies(baseUrl: string, paths: HotPaths, vaultBearer: string): Promise<{ access: string; find: string }> {
  const access = await send(`${baseUrl}${paths.access.path}`, { token: paths.portalToken, body: paths.access.body })
  const find = await send(`${baseUrl}${paths.find.path}`, { token: vaultBearer, body: paths.find.body })
  if (access.status !== 200 || find.status !== 200) throw new Error(`hot paths do not answer: access ${access.status} ${access.text.slice(0, 200)}, find ${find.status} ${find.text.slice(0, 200)}`)
  if (JSON.parse(find.text).data.length === 0) throw new Error('the selective find answered no rows; it would measure nothing')
  return { access: access.text, find: find.text }
}

export { vaultToken }
