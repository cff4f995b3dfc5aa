import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { Pool } from 'undici'
import type { Db } from '../../packages/server/src/db/db.js'
import { findQueries, READABLE, type FindQuery, type QueryName } from './vault-fixture.js'

/** How the find's rows are opened: the four cases, plus the JSONB document table (a floor only). */
export type FindArm = 'policy' | 'aclAll' | 'acl100' | 'grants'
export const FIND_ARMS: FindArm[] = ['policy', 'aclAll', 'acl100', 'grants']
export const ARM_LABELS: Record<FindArm, string> = {
  policy: '(a) field policy, no ACL',
  aclAll: '(b) external ACL answering "*"',
  acl100: '(c) external ACL answering 100 ids',
  grants: '(d) grants',
}

export interface FindPage {
  data: Array<Record<string, unknown>>
  meta: { total: number; count: number; limit: number; offset: number }
}

/** One find over HTTP (Gatehouse's or a floor's); throws with the server's answer on anything but 2xx. */
export async function postFind(url: string, headers: Record<string, string>, body: string, timeoutMs = 60_000): Promise<FindPage> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(timeoutMs) })
  const text = await response.text()
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${text.slice(0, 300)}`)
  return JSON.parse(text) as FindPage
}

/** Reference 004's filter endpoint, as an application would run it: `/all` answers "*", `/hundred` a fixed list of 100 ids. */
export interface AclEndpoint {
  url(mode: 'all' | 'hundred'): string
  allow(ids: string[]): void
  calls(): number
  close(): Promise<void>
}

export async function startAclEndpoint(): Promise<AclEndpoint> {
  let allowed = '{"ticket_id":[]}'
  let calls = 0
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      calls += 1
      res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/all' ? '{"ticket_id":"*"}' : allowed)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url: (mode) => `${base}/${mode}`,
    allow: (ids) => (allowed = JSON.stringify({ ticket_id: ids })),
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export interface FloorOptions {
  db: Db
  tableName: string
  space: string
  acl: AclEndpoint
  /** Whose grants arm (d) opens. */
  granteeUserId: string
}

const LIMIT = 100
const MAX_CANDIDATES = 10_000
const COLUMNS = [...READABLE, 'created_at', 'updated_at'].join(', ')

/**
 * The hand-written floor of scenario 2: a bare Fastify route per arm running the same find in SQL
 * written for this one model (no compiler, no policy, no audit), on the same Db — the total as a
 * scalar subquery, the form that keeps PostgreSQL 15 on the filter's own index (records-store.ts
 * says why). It takes the same
 * request body as the vault (parsed, as any server would) and answers the same shape.
 * `?q=selective|range|sort` names the query.
 */
export async function startFindFloor(options: FloorOptions, rows: number): Promise<{ url(arm: FindArm | 'jsonb', query: QueryName, record?: boolean): string; close(): Promise<void> }> {
  const { db, tableName, space, acl, granteeUserId } = options
  const table = `vault."${tableName}"`
  const queries = new Map(findQueries(rows).map((query) => [query.name, query]))
  const aclPool = new Pool(new URL(acl.url('all')).origin, { connections: 16, keepAliveTimeout: 30_000 })

  /**
   * One page and the total, as the vault answers it. With `record`, the same statement also queues
   * an audit event naming the page's ids and the total (a data-modifying CTE, committed before the
   * answer is sent): the floor that keeps Gatehouse's guarantee, "every look recorded", by hand.
   * With `grantsOf` (arm (d)), that event also names the page's customers and, for each, the grant
   * that opened its rows (the active one ending last), as Gatehouse's grants event does.
   */
  const page = async (query: FindQuery, extra: string, extraParams: unknown[], record: boolean, grantsOf?: { userId: string }): Promise<FindPage> => {
    const params = [...query.params, ...extraParams]
    const select = `SELECT ${COLUMNS}, (SELECT count(*)::int FROM ${table} WHERE ${query.where}${extra}) AS total FROM ${table} WHERE ${query.where}${extra}
       ORDER BY ${query.orderBy} LIMIT ${LIMIT}`
    const n = params.length
    const eventParams = [space, `evt_floor_${randomUUID()}`]
    let grantCtes = ''
    let grantMeta = ''
    let resources = `'[]'::jsonb`
    if (record && grantsOf) {
      eventParams.push(grantsOf.userId)
      grantCtes = `,
           customers AS (SELECT DISTINCT customer_id AS c FROM page),
           covering AS (
             SELECT DISTINCT ON (g.resource_id) g.resource_id, g.id, g.petition_id, g.expires_at FROM grants g
             WHERE g.space_id = $${n + 1} AND g.petitioner_user_id = $${n + 3} AND g.resource_kind = 'customer'
               AND g.resource_id IN (SELECT c FROM customers) AND g.revoked_at IS NULL AND g.starts_at <= now() AND g.expires_at > now()
             ORDER BY g.resource_id, g.expires_at DESC, g.id)`
      grantMeta = `, 'grants', (SELECT jsonb_agg(jsonb_build_object('grant', id, 'petition', petition_id, 'resource', resource_id, 'expires', expires_at)) FROM covering)`
      resources = `(SELECT jsonb_agg(jsonb_build_object('kind', 'customer', 'id', c)) FROM customers)`
    }
    const { rows: found } = await db.query<Record<string, unknown> & { total: number }>(
      record
        ? `WITH page AS (${select})${grantCtes},
           audited AS (
             INSERT INTO audit_pending (space_id, id, time, actor, event, resources, meta)
             SELECT $${n + 1}, $${n + 2}, now(), '{"kind":"bench","id":"floor"}'::jsonb, 'bench/floor-read', COALESCE(${resources}, '[]'::jsonb),
               jsonb_build_object('ids', (SELECT jsonb_agg(ticket_id) FROM page), 'total', (SELECT max(total) FROM page)${grantMeta})
             RETURNING 1)
           SELECT * FROM page ORDER BY ${query.orderBy}`
        : select,
      record ? [...params, ...eventParams] : params,
    )
    const total = found[0]?.total ?? 0
    const data = found.map(({ total: _total, ...row }) => row)
    return { data, meta: { total, count: data.length, limit: LIMIT, offset: 0 } }
  }

  /** Reference 004 by hand: the candidate ids, one call to the filter endpoint, then the allowed page. */
  const throughAcl = async (query: FindQuery, mode: 'all' | 'hundred', clientToken: string, record: boolean): Promise<FindPage> => {
    const { rows: candidates } = await db.query<{ ticket_id: string }>(
      `SELECT ticket_id FROM ${table} WHERE ${query.where} ORDER BY ticket_id LIMIT ${MAX_CANDIDATES + 1}`,
      query.params,
    )
    if (candidates.length > MAX_CANDIDATES) throw new Error('too many candidates')
    const response = await aclPool.request({
      method: 'POST',
      path: `/${mode}`,
      headers: { 'content-type': 'application/json', authorization: clientToken },
      body: JSON.stringify({ action: 'v1.restapi.read', type: 'tickets', ticket_id: candidates.map((row) => row.ticket_id) }),
    })
    const answer = (await response.body.json()) as { ticket_id: string[] | '*' }
    // "*" allows every id asked about, not every row: a row inserted since the candidates were read
    // was never asked about, so the page is still limited to the candidates (as Gatehouse does).
    const allowed = answer.ticket_id === '*' ? candidates.map((row) => row.ticket_id) : answer.ticket_id
    return page(query, ` AND ticket_id = ANY($${query.params.length + 1}::text[])`, [allowed], record)
  }

  const app: FastifyInstance = Fastify({ logger: false })
  app.post('/floor/:arm', async (request) => {
    const { arm } = request.params as { arm: FindArm | 'jsonb' }
    const { q, record: recording } = request.query as { q: QueryName; record?: string }
    const query = queries.get(q)
    if (!query) throw new Error('unknown query')
    const record = recording === '1'
    switch (arm) {
      case 'policy':
        return page(query, '', [], record)
      case 'aclAll':
        return throughAcl(query, 'all', request.headers['x-client-auth'] as string, record)
      case 'acl100':
        return throughAcl(query, 'hundred', request.headers['x-client-auth'] as string, record)
      case 'grants':
        return page(
          query,
          ` AND customer_id IN (SELECT resource_id FROM grants WHERE space_id = $${query.params.length + 1} AND petitioner_user_id = $${query.params.length + 2}
             AND resource_kind = 'customer' AND revoked_at IS NULL AND starts_at <= now() AND expires_at > now())`,
          [space, granteeUserId],
          record,
          { userId: granteeUserId },
        )
      case 'jsonb': {
        const { rows: found } = await db.query<{ doc: Record<string, unknown>; total: number }>(
          `SELECT doc, (SELECT count(*)::int FROM bench_ticket_docs WHERE ${query.jsonbWhere}) AS total FROM bench_ticket_docs WHERE ${query.jsonbWhere}
           ORDER BY ${query.jsonbOrderBy} LIMIT ${LIMIT}`,
          query.jsonbParams,
        )
        // The field policy by hand: the documents hold every field.
        const data = found.map(({ doc }) => Object.fromEntries([...READABLE, 'created_at', 'updated_at'].map((field) => [field, doc[field]])))
        return { data, meta: { total: found[0]?.total ?? 0, count: data.length, limit: LIMIT, offset: 0 } }
      }
    }
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  return {
    url: (arm, query, record = false) => `${base}/floor/${arm}?q=${query}${record ? '&record=1' : ''}`,
    close: async () => {
      await app.close()
      await aclPool.close()
    },
  }
}
