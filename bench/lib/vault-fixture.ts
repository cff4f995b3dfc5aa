import type { Stack } from './stack.js'
import type { Progress } from './types.js'

/**
 * The vault model scenarios 2 and 5 read: support tickets, ten per customer, with three searchable
 * fields. Values are spread by multiplicative hashing, so each customer's rows, each amount range
 * and each time window are scattered over the whole table, as real data would be.
 */
export const TICKETS = {
  name: 'tickets',
  primaryKey: 'ticket_id',
  fields: {
    ticket_id: { type: 'string' },
    customer_id: { type: 'string', searchable: true },
    amount: { type: 'integer', searchable: true },
    opened_at: { type: 'datetime', searchable: true },
    status: { type: 'string' },
    subject: { type: 'string' },
  },
} as const

/** The fields every policy of the bench returns: `subject` stays hidden (the field policy at work). */
export const READABLE = ['ticket_id', 'customer_id', 'amount', 'opened_at', 'status'] as const

export const ROWS_PER_CUSTOMER = 10
/** Amounts are distinct integers in [0, AMOUNT_SPAN) for up to AMOUNT_SPAN rows. */
const AMOUNT_SPAN = 1_000_000
const OPENED_FROM = Date.parse('2026-01-01T00:00:00Z')

export const ticketId = (index: number) => `t_${String(index).padStart(7, '0')}`
export const ticketCustomer = (index: number, rows: number) => `c_${String(index % customerCount(rows)).padStart(7, '0')}`
export const customerCount = (rows: number) => Math.max(1, Math.floor(rows / ROWS_PER_CUSTOMER))

/**
 * Inserts `rows` tickets straight into the model's table, set-based and in chunks (for the progress
 * bar): loading is not what is measured. Then VACUUM ANALYZE, so hint bits and statistics are set
 * before either arm reads.
 */
export async function fillTickets(stack: Stack, tableName: string, rows: number, bar: Progress): Promise<void> {
  if (!/^[a-z][a-z0-9_]*$/.test(tableName)) throw new Error(`unexpected table name ${tableName}`)
  const chunk = Math.min(50_000, Math.max(1000, Math.ceil(rows / 20)))
  try {
    for (let from = 0; from < rows; from += chunk) {
      const to = Math.min(rows, from + chunk) - 1
      await stack.db.query(
        `INSERT INTO vault."${tableName}" (ticket_id, customer_id, amount, opened_at, status, subject, created_at, updated_at)
         SELECT 't_' || lpad(g::text, 7, '0'),
                'c_' || lpad((g % $3::int)::text, 7, '0'),
                (g::bigint * 2654435761) % ${AMOUNT_SPAN},
                $4::timestamptz + ((g::bigint * 7919) % $5::int) * interval '1 minute',
                (ARRAY['open', 'pending', 'solved'])[1 + g % 3],
                'Ticket ' || g || ': the invoice does not match the order',
                $4::timestamptz, $4::timestamptz
         FROM generate_series($1::int, $2::int) AS g`,
        [from, to, customerCount(rows), new Date(OPENED_FROM), rows],
      )
      bar.tick(to - from + 1)
    }
  } finally {
    bar.stop()
  }
  await stack.db.query(`VACUUM ANALYZE vault."${tableName}"`)
}

/**
 * The same rows as JSONB documents in one table with a GIN index: the document-store baseline.
 * `jsonb_path_ops` is the GIN operator class built for `@>` containment, the query it serves best.
 */
export async function fillTicketDocuments(stack: Stack, tableName: string): Promise<void> {
  await stack.db.query('CREATE TABLE bench_ticket_docs (id text PRIMARY KEY, doc jsonb NOT NULL)')
  await stack.db.query(
    `INSERT INTO bench_ticket_docs (id, doc)
     SELECT ticket_id, jsonb_build_object('ticket_id', ticket_id, 'customer_id', customer_id, 'amount', amount,
       'opened_at', to_char(opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'status', status, 'subject', subject,
       'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       'updated_at', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
     FROM vault."${tableName}"`,
  )
  await stack.db.query('CREATE INDEX bench_ticket_docs_gin ON bench_ticket_docs USING gin (doc jsonb_path_ops)')
  await stack.db.query('VACUUM ANALYZE bench_ticket_docs')
}

export type QueryName = 'selective' | 'range' | 'sort'
export const QUERY_NAMES: QueryName[] = ['selective', 'range', 'sort']

/** One find, as the vault's API takes it and as its hand-written floor runs it. */
export interface FindQuery {
  name: QueryName
  /** What it is, for the notes. */
  describe: string
  /** The body of `POST /api/models/tickets/find`. */
  body: { filter: Record<string, unknown>; options?: { sort: Array<Record<string, 'asc' | 'desc'>> } }
  /** Hand-written SQL for the floor: the WHERE clause over the typed columns, its ORDER BY, and parameters. */
  where: string
  orderBy: string
  params: unknown[]
  /** The same filter over the JSONB documents, in the form the GIN index serves where it can. */
  jsonbWhere: string
  jsonbOrderBy: string
  jsonbParams: unknown[]
}

/**
 * The three finds, sized by the row count so each matches about as many rows at 100,000 as at
 * 1,000,000: a customer's 10 tickets; about 1,000 tickets in an amount range; the 100 largest of
 * about 2,000 recent tickets. Every candidate set stays under the external ACL's bound of 10,000.
 */
export function findQueries(rows: number): FindQuery[] {
  const customer = ticketCustomer(42, rows)
  const width = Math.max(1, Math.round((AMOUNT_SPAN * Math.min(1000, rows)) / rows))
  const low = Math.floor(AMOUNT_SPAN * 0.4)
  const high = Math.min(AMOUNT_SPAN, low + width)
  const recent = Math.min(2000, rows)
  const since = new Date(OPENED_FROM + (rows - recent) * 60_000)
  return [
    {
      name: 'selective',
      describe: `customer_id = one customer (${ROWS_PER_CUSTOMER} rows)`,
      body: { filter: { customer_id: customer } },
      where: 'customer_id = $1',
      orderBy: 'ticket_id',
      params: [customer],
      jsonbWhere: 'doc @> $1::jsonb',
      jsonbOrderBy: 'id',
      jsonbParams: [JSON.stringify({ customer_id: customer })],
    },
    {
      name: 'range',
      describe: `amount in [${low}, ${high}) (about ${Math.min(1000, rows)} rows)`,
      body: { filter: { amount: { $gte: low, $lt: high } } },
      where: 'amount >= $1 AND amount < $2',
      orderBy: 'ticket_id',
      params: [low, high],
      jsonbWhere: "(doc->>'amount')::bigint >= $1 AND (doc->>'amount')::bigint < $2",
      jsonbOrderBy: 'id',
      jsonbParams: [low, high],
    },
    {
      name: 'sort',
      describe: `opened_at ≥ a time (about ${recent} rows), sorted by amount descending`,
      body: { filter: { opened_at: { $gte: since.toISOString() } }, options: { sort: [{ amount: 'desc' }] } },
      where: 'opened_at >= $1',
      orderBy: 'amount DESC, ticket_id',
      params: [since],
      // The documents hold the time as ISO text in UTC, which sorts and compares as time does.
      jsonbWhere: "doc->>'opened_at' >= $1",
      jsonbOrderBy: "(doc->>'amount')::bigint DESC, id",
      jsonbParams: [since.toISOString().replace('.000Z', 'Z')],
    },
  ]
}

/** Creates the model through the admin API; answers its table name (generated, not part of the API). */
export async function createTicketsModel(stack: Stack): Promise<string> {
  await stack.api('POST', `/v1/spaces/${stack.space}/vault/models`, { body: TICKETS })
  const { rows } = await stack.db.query<{ table_name: string }>('SELECT table_name FROM vault_models WHERE space_id = $1 AND name = $2', [stack.space, TICKETS.name])
  if (!rows[0]) throw new Error('the tickets model was not stored')
  return rows[0].table_name
}

export interface VaultClient {
  clientId: string
  clientSecret: string
}

/** An access policy with one rule for `tickets` and a client holding it, through the admin API. */
export async function vaultClient(stack: Stack, name: string, acl: Record<string, unknown>): Promise<VaultClient> {
  const policy = await stack.api<{ id: string }>('POST', `/v1/spaces/${stack.space}/vault/policies`, {
    body: { name, rules: { tickets: { actions: ['read'], readable: [...READABLE], acl } } },
  })
  return stack.api<VaultClient>('POST', `/v1/spaces/${stack.space}/vault/clients`, { body: { name, policyId: policy.id } })
}

/** A vault access token (valid 300 s): minted just before each use, so a long run never outlives one. */
export async function vaultToken(baseUrl: string, client: VaultClient): Promise<string> {
  const response = await fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret }),
  })
  const body = (await response.json()) as { access_token?: string }
  if (!response.ok || !body.access_token) throw new Error(`POST /oauth/token: ${response.status} ${JSON.stringify(body)}`)
  return body.access_token
}
