import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { createApprovalsStore } from '../../packages/server/src/modules/approvals/approvals-store.js'
import { GatehouseAPI } from '../../packages/sdk/src/index.js'
import { customerId, customers } from './data.js'
import type { Stack } from './stack.js'

/** What both servers of scenario 1 receive: the reference's request, one petitioner and one customer. */
export interface CheckBody {
  petitioners: Array<{ kind: 'user'; id: string; email: string }>
  resources: Array<{ kind: string; id: string }>
}

export interface AccessFixture {
  /** A service-account token with access:request (the application asking). */
  portalToken: string
  body: CheckBody
  client: GatehouseAPI
  resourceCount: number
}

/**
 * Scenario 1's data on a stack: `fillerGrants` other people's grants (so the lookup runs against an
 * index with rows in it, as in production) and one pair granted the way a customer's would be, by
 * approval() under an auto_approve policy; checked to take the active-grant path.
 */
export async function prepareAccessCheck(stack: Stack, fillerGrants: number): Promise<AccessFixture> {
  const { db, space } = stack
  const portalToken = await stack.serviceToken('bench-portal', 'admin', ['access:request', 'resources:write'])
  const client = new GatehouseAPI({ baseUrl: stack.baseUrl, space, token: portalToken, maxRetries: 0 })
  const resourceCount = Math.max(10, Math.min(fillerGrants, 1000))
  await client.resource.bulkUpdate({ resources: customers(resourceCount) })
  await db.query(
    `INSERT INTO petitions (space_id, id, request_key, state, petitioners, resources, reason, rule, created_by)
     VALUES ($1, 'pet_bench_filler', 'bench-filler', 'granted', '[]', '[]', 'bench filler', '{}', '{}')`,
    [space],
  )
  await db.query(
    `INSERT INTO grants (space_id, id, petition_id, petitioner_id, petitioner_email, petitioner_user_id, resource_kind, resource_id, starts_at, expires_at)
     SELECT $1, 'grt_bench_' || g, 'pet_bench_filler', 'usr_filler_' || (g % 500), 'filler-' || (g % 500) || '@example.com', 'usr_filler_' || (g % 500),
       'customer', 'c_' || lpad((g % $3)::text, 7, '0'), now() - interval '1 hour', now() + interval '1 day'
     FROM generate_series(1, $2::int) AS g`,
    [space, fillerGrants, resourceCount],
  )
  await db.query('ANALYZE grants')

  await stack.api('POST', `/v1/spaces/${space}/policies`, {
    body: { name: 'bench auto-approve', priority: 10, match: { resourceKinds: ['customer'] }, decision: { type: 'auto_approve', durationSeconds: 86_400 } },
  })
  const body: CheckBody = {
    petitioners: [{ kind: 'user', id: 'usr_bench_agent', email: 'agent@example.com' }],
    resources: [{ kind: 'customer', id: customerId(1) }],
  }
  const first = await client.approvals.request(body)
  if (first.status !== 'granted') throw new Error(`the auto_approve policy did not grant the pair: ${first.status}`)
  const fast = await client.approvals.request(body)
  if (fast.status !== 'granted' || fast.petition !== null) throw new Error('approval() did not take the active-grant path')
  return { portalToken, body, client, resourceCount }
}

/**
 * Scenario 1's floor: a bare Fastify route in the same process calling the store's own activeGrants
 * (the same SQL, so it cannot drift) on the same Db; no token check, no validation.
 */
export async function startAccessFloor(stack: Stack): Promise<{ url: string; close(): Promise<void> }> {
  const approvals = createApprovalsStore()
  const bare = Fastify({ logger: false })
  bare.post('/approvals', async (request) => {
    const input = request.body as CheckBody
    const pairs = input.petitioners.flatMap((petitioner) => input.resources.map((resource) => ({ userId: null, email: petitioner.email.toLowerCase(), resource })))
    const grants = await approvals.activeGrants(stack.db, stack.space, pairs, new Date())
    return { status: grants.length >= pairs.length ? 'granted' : 'waiting', grants }
  })
  await bare.listen({ host: '127.0.0.1', port: 0 })
  return { url: `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}/approvals`, close: () => bare.close() }
}
