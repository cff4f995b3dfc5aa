import type { Queryable } from '../../../db/db.js'
import { splice, type SqlFragment } from '../../../db/sql-fragment.js'
import { ident, internalIdent, storedIdent } from '../models/model-ddl.js'
import type { Model } from '../models/model-types.js'
import type { ResolvedTable, StoredColumn } from './resolved-table.js'

/** A WHERE fragment and its parameters, numbered from $1. */
export type Condition = SqlFragment

/**
 * What a page read under the `grants` ACL names in its own statement: its customers (the distinct
 * values of `field` in page order, at most `maxResources`) as audit resources of `resourceKind`,
 * and the grant behind each. `notes(resourceIds)` is a subquery with columns `resource_id` and
 * `note` (jsonb) for the ids `resourceIds` (a one-column subquery over the statement's CTEs) yields.
 */
export interface PageGrants {
  field: string
  resourceKind: string
  maxResources: number
  notes: (resourceIds: string) => SqlFragment
}

/** What a statement that records its own audit event adds to it, as SQL over the statement's CTEs: jsonb meta to merge, jsonb resources to append. */
export interface EventExtra {
  metaSql: string
  resourcesSql?: string
}

/** A plain column as a record shows it, named `as`. */
function plainSelect(column: string, type: Model['fields'][string]['type'], as: string): string {
  const quoted = storedIdent(column)
  if (type === 'date') return `to_char(${quoted}, 'YYYY-MM-DD') AS ${storedIdent(as)}`
  if (type === 'decimal') return `${quoted}::text AS ${storedIdent(as)}`
  return column === as ? quoted : `${quoted} AS ${storedIdent(as)}`
}

/**
 * Dates as `YYYY-MM-DD` text and decimals as exact text: the same on PGlite and pg, in any time zone.
 * Ciphertext as it is. With `fields`, only those fields' columns (and the record times).
 */
export function selectList(table: ResolvedTable, fields?: ReadonlySet<string>): string {
  const wanted = fields ? [...table.columns.values()].filter(({ field }) => fields.has(field)) : [...table.columns.values()]
  const columns = wanted.flatMap(({ field, type, column, encrypted, converting }) => {
    // Both forms of a converting field, each under its column's name: ResolvedTable.open shows the one the row holds.
    if (converting) return [plainSelect(converting.plain, type, converting.plain), storedIdent(converting.cipher)]
    if (encrypted) return column === field ? ident(column) : `${ident(column)} AS ${ident(field)}` // ciphertext, as bytes
    return [plainSelect(column, type, field)]
  })
  return [...columns, '"created_at"', '"updated_at"'].join(', ')
}

/** The primary key from a URL, or null when it cannot be one (an integer key given letters). */
export function keyValue(model: Model, id: string): string | number | null {
  // Only a safe integer: a longer one would be rounded to a neighbour's id.
  if (model.fields[model.primaryKey]!.type === 'integer') return /^-?\d{1,16}$/.test(id) && Number.isSafeInteger(Number(id)) ? Number(id) : null
  return id
}

/** `column = $n::type` for the primary key. */
const keyIs = (table: ResolvedTable, placeholder: number) => `${ident(table.primaryKey.column)} = $${placeholder}::${table.primaryKey.sqlType}`

const columnName = (stored: StoredColumn) => (stored.internal ? internalIdent(stored.column) : ident(stored.column))

/** Appends `condition`'s parameters to `params`, renumbering its placeholders. */
export const merge = splice

export function createRecordsStore() {
  return {
    /** One row from `table.seal`'s columns. */
    async insert(tx: Queryable, table: ResolvedTable, columns: StoredColumn[]): Promise<Record<string, unknown>> {
      const params = columns.map(({ value }) => value)
      const placeholders = columns.map(({ sqlType }, i) => `$${i + 1}::${sqlType}`)
      const { rows } = await tx.query(
        `INSERT INTO ${table.ref} (${columns.map(columnName).join(', ')}) VALUES (${placeholders.join(', ')}) RETURNING ${selectList(table)}`,
        params,
      )
      return rows[0]!
    },

    async getById(db: Queryable, table: ResolvedTable, id: string | number, scope: Condition | null): Promise<Record<string, unknown> | null> {
      const params: unknown[] = [id]
      const extra = merge(params, scope)
      const { rows } = await db.query(
        `SELECT ${selectList(table)} FROM ${table.ref} WHERE ${keyIs(table, 1)} AND (${extra})`,
        params,
      )
      return rows[0] ?? null
    },

    async update(tx: Queryable, table: ResolvedTable, id: string | number, columns: StoredColumn[], scope: Condition | null): Promise<Record<string, unknown> | null> {
      const params: unknown[] = [id]
      const sets = columns.map((stored) => {
        params.push(stored.value)
        return `${columnName(stored)} = $${params.length}::${stored.sqlType}`
      })
      sets.push(`"updated_at" = date_trunc('second', now())`)
      const extra = merge(params, scope)
      const { rows } = await tx.query(
        `UPDATE ${table.ref} SET ${sets.join(', ')} WHERE ${keyIs(table, 1)} AND (${extra}) RETURNING ${selectList(table)}`,
        params,
      )
      return rows[0] ?? null
    },

    async delete(tx: Queryable, table: ResolvedTable, id: string | number, scope: Condition | null): Promise<boolean> {
      const params: unknown[] = [id]
      const extra = merge(params, scope)
      const { rowCount } = await tx.query(`DELETE FROM ${table.ref} WHERE ${keyIs(table, 1)} AND (${extra})`, params)
      return rowCount > 0
    },

    /**
     * The rows matching, in `orderBy` order, at most `limit`: their key (as text, and as stored for
     * decryption) and the columns of `fields`. For the exact checks on encrypted fields after a
     * blind-index lookup.
     */
    async candidates(db: Queryable, table: ResolvedTable, where: Condition[], orderBy: string, fields: string[], limit: number): Promise<Array<Record<string, unknown> & { __id: string }>> {
      const params: unknown[] = []
      const clauses = where.map((condition) => `(${merge(params, condition)})`)
      params.push(limit)
      const key = ident(table.primaryKey.column)
      const columns = fields.map((field) => storedIdent(table.columns.get(field)!.column))
      const { rows } = await db.query<Record<string, unknown> & { __id: string }>(
        `SELECT ${key}::text AS __id, ${[key, ...columns].join(', ')} FROM ${table.ref} WHERE ${clauses.join(' AND ') || 'TRUE'}${orderBy} LIMIT $${params.length}`,
        params,
      )
      return rows
    },

    /** For a background job: the next `limit` rows after key `after` (null: from the start), in key order, locked, with `fields`. */
    async batchAfter(q: Queryable, table: ResolvedTable, after: string | null, fields: string[], limit: number): Promise<Array<Record<string, unknown> & { __id: string }>> {
      const key = ident(table.primaryKey.column)
      const columns = fields.map((field) => ident(table.columns.get(field)!.column))
      const params: unknown[] = after === null ? [limit] : [limit, after]
      const { rows } = await q.query<Record<string, unknown> & { __id: string }>(
        `SELECT ${key}::text AS __id, ${[key, ...columns].join(', ')} FROM ${table.ref} ${after === null ? '' : `WHERE ${key} > $2::${table.primaryKey.sqlType}`} ORDER BY ${key} LIMIT $1 FOR UPDATE`,
        params,
      )
      return rows
    },

    /** How many rows the table holds (a background job's size). */
    async count(q: Queryable, table: ResolvedTable): Promise<number> {
      const { rows } = await q.query<{ n: number | string }>(`SELECT count(*)::int8 AS n FROM ${table.ref}`)
      return Number(rows[0]!.n)
    },

    /**
     * Rewrites stored columns of many rows as they are, in one statement (a re-encryption or
     * re-indexing batch): the records are unchanged, so is updated_at. Each row's key (as text) and
     * its columns; a column a row does not list keeps its value. The rows travel as one JSON
     * parameter (bytes as hex), the same on both stores, instead of one round trip per row.
     */
    async rewriteMany(q: Queryable, table: ResolvedTable, rows: Array<{ key: string; columns: StoredColumn[] }>): Promise<void> {
      if (rows.length === 0) return
      const specs = new Map<string, StoredColumn>()
      for (const row of rows) for (const stored of row.columns) if (!specs.has(stored.column)) specs.set(stored.column, stored)
      const slots = [...specs.values()]
      const slotOf = new Map(slots.map((stored, i) => [stored.column, `c${i}`]))
      const json = rows.map((row) => {
        const out: Record<string, string> = { k: row.key }
        for (const stored of row.columns) {
          if (stored.value === null || stored.value === undefined) throw new Error('rewriteMany: a column is rewritten with a value, never with null')
          out[slotOf.get(stored.column)!] = Buffer.isBuffer(stored.value) ? stored.value.toString('hex') : String(stored.value)
        }
        return out
      })
      const sets = slots.map((stored, i) => {
        const value = stored.sqlType === 'bytea' ? `decode(r.c${i}, 'hex')` : `r.c${i}::${stored.sqlType}`
        return `${columnName(stored)} = CASE WHEN r.c${i} IS NULL THEN t.${columnName(stored)} ELSE ${value} END`
      })
      const key = ident(table.primaryKey.column)
      await q.query(
        `UPDATE ${table.ref} AS t SET ${sets.join(', ')} FROM jsonb_to_recordset($1::jsonb) AS r(k text${slots.map((_, i) => `, c${i} text`).join('')})
         WHERE t.${key} = r.k::${table.primaryKey.sqlType}`,
        [JSON.stringify(json)],
      )
    },

    /** For the conversion job: the next `limit` rows after key `after` (null: from the start), in key order, locked, as `selectList` reads them. */
    async rowsAfter(q: Queryable, table: ResolvedTable, after: string | null, limit: number): Promise<Array<Record<string, unknown> & { __id: string }>> {
      const key = ident(table.primaryKey.column)
      const params: unknown[] = after === null ? [limit] : [limit, after]
      const { rows } = await q.query<Record<string, unknown> & { __id: string }>(
        `SELECT ${key}::text AS __id, ${selectList(table)} FROM ${table.ref} ${after === null ? '' : `WHERE ${key} > $2::${table.primaryKey.sqlType}`} ORDER BY ${key} LIMIT $1 FOR UPDATE`,
        params,
      )
      return rows
    },

    /**
     * Locks the table against every other access until the transaction ends (the conversion's last
     * batch, before its DDL) and says whether a row still holds `column` (the field's old form).
     */
    async lockAndFindLeft(q: Queryable, table: ResolvedTable, column: string): Promise<boolean> {
      await q.query(`LOCK TABLE ${table.ref} IN ACCESS EXCLUSIVE MODE`)
      const { rows } = await q.query(`SELECT 1 FROM ${table.ref} WHERE ${storedIdent(column)} IS NOT NULL LIMIT 1`)
      return rows.length > 0
    },

    /** Rewrites stored columns of one row as they are (re-encryption): the record is unchanged, so is updated_at. */
    async rewrite(q: Queryable, table: ResolvedTable, id: unknown, columns: StoredColumn[]): Promise<void> {
      const params: unknown[] = [id]
      const sets = columns.map((stored) => {
        params.push(stored.value)
        return `${columnName(stored)} = $${params.length}::${stored.sqlType}`
      })
      await q.query(`UPDATE ${table.ref} SET ${sets.join(', ')} WHERE ${keyIs(table, 1)}`, params)
    },

    /** Ids of the rows matching, in key order, at most `limit` (the caller asks one more than it allows). */
    async matchingIds(db: Queryable, table: ResolvedTable, where: Condition[], limit: number): Promise<string[]> {
      const params: unknown[] = []
      const clauses = where.map((condition) => `(${merge(params, condition)})`)
      params.push(limit)
      const key = ident(table.primaryKey.column)
      const { rows } = await db.query<{ id: string }>(
        `SELECT ${key}::text AS id FROM ${table.ref} WHERE ${clauses.join(' AND ') || 'TRUE'} ORDER BY ${key} LIMIT $${params.length}`,
        params,
      )
      return rows.map((row) => row.id)
    },

    /**
     * One page of the rows matching, their total count and its audit event in one statement, so a
     * find is one round trip and no transaction. The total is a scalar subquery, not
     * `count(*) OVER ()`: PostgreSQL 15 costs a window under a LIMIT as if it could stop early, and
     * picks the key's index in key order, filtering every row (23 ms for a 1,000-row range in
     * 100,000 rows, against 3 ms through the range's own index — bench scenario 2). It returns the
     * page's rows, and `event(extra, firstParam)`'s INSERT as a data-modifying CTE whose meta
     * adds the page's count, total and first `auditedIds` keys (in page order). Under the `grants`
     * ACL (`grants`), the same statement reads the grant behind each row's customer: the event's
     * meta adds `grants` (in resource id order) and `customers` (in page order), its resources the
     * customers, and each row comes back with its grant's note (null when none). The event commits
     * with the statement, before the rows are returned. `fields` are the fields the page reads (the
     * ones its caller is shown, the key among them; the grants field is added): a field the caller
     * may not see never leaves the database for this find.
     */
    async pageAudited(
      db: Queryable,
      table: ResolvedTable,
      where: Condition[],
      orderBy: string,
      limit: number,
      offset: number,
      auditedIds: number,
      event: (extra: EventExtra, firstParam: number) => { sql: string; params: unknown[] },
      grants: PageGrants | null = null,
      fields?: ReadonlySet<string>,
    ): Promise<{ rows: Record<string, unknown>[]; total: number; rowGrants: unknown[] }> {
      const params: unknown[] = []
      const clauses = where.map((condition) => `(${merge(params, condition)})`)
      const whereSql = clauses.join(' AND ') || 'TRUE'
      const from = table.ref
      params.push(limit, offset)
      const pageParams = params.length
      const key = ident(table.primaryKey.column)
      let meta = `'count', (SELECT count(*) FROM page),
          'total', COALESCE((SELECT max(__total) FROM page), (SELECT count(*) FROM ${from} WHERE ${whereSql})),
          'ids', COALESCE((SELECT jsonb_agg(k ORDER BY __n) FROM (SELECT ${key}::text AS k, __n FROM page WHERE __n <= ${Number(auditedIds)}) AS first), '[]'::jsonb)`
      let resourcesSql: string | undefined
      let grantCtes = ''
      let rowGrant = ''
      if (grants) {
        // The customer as text, as the grants condition compares it.
        const customer = `(page.${ident(grants.field)})::text`
        params.push(grants.resourceKind)
        const kind = `$${params.length}::text`
        const notes = merge(params, grants.notes('SELECT c FROM customers'))
        grantCtes = `,
         customers AS (SELECT c, min(__n) AS first FROM (SELECT ${customer} AS c, __n FROM page) AS r GROUP BY c ORDER BY first LIMIT ${Number(grants.maxResources)}),
         notes AS (${notes})`
        meta += `,
          'grants', COALESCE((SELECT jsonb_agg(note ORDER BY resource_id) FROM notes), '[]'::jsonb),
          'customers', COALESCE((SELECT jsonb_agg(c ORDER BY first) FROM customers), '[]'::jsonb)`
        resourcesSql = `COALESCE((SELECT jsonb_agg(jsonb_build_object('kind', ${kind}, 'id', c) ORDER BY first) FROM customers), '[]'::jsonb)`
        // A join, not a subquery per row (which scanned every note for each row: 100 × 100 on a full page).
        rowGrant = ` LEFT JOIN notes ON notes.resource_id = ${customer}`
      }
      const audit = event({ metaSql: `jsonb_build_object(${meta})`, ...(resourcesSql ? { resourcesSql } : {}) }, params.length + 1)
      const { rows } = await db.query<Record<string, unknown> & { __total: number; __n: number; __grant?: unknown }>(
        `WITH page AS (
           SELECT p.*, row_number() OVER () AS __n FROM (
             SELECT ${selectList(table, fields && grants ? new Set([...fields, grants.field]) : fields)}, (SELECT count(*) FROM ${from} WHERE ${whereSql}) AS __total FROM ${from} WHERE ${whereSql}
             ${orderBy} LIMIT $${pageParams - 1} OFFSET $${pageParams}
           ) AS p
         )${grantCtes},
         audited AS (${audit.sql})
         SELECT page.*${grants ? ', notes.note AS __grant' : ''} FROM page${rowGrant} ORDER BY __n`,
        [...params, ...audit.params],
      )
      const total = rows[0]?.__total
      const rowGrants = rows.map((row) => row.__grant ?? null)
      for (const row of rows) {
        delete (row as Record<string, unknown>).__n
        delete (row as Record<string, unknown>).__grant
      }
      if (rows.length > 0 || offset === 0) return { rows, total: total ?? 0, rowGrants }
      const counted = await db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM ${from} WHERE ${whereSql}`, params.slice(0, pageParams - 2))
      return { rows, total: counted.rows[0]!.n, rowGrants }
    },

    /**
     * Only these ids (as text), for the find after an external ACL answered. An array parameter,
     * not a set-returning function: PostgreSQL sizes `= ANY(array)` from the array and hashes it,
     * so the filter's own index still drives the find; `IN (SELECT … jsonb_array_elements_text)`
     * is estimated at 100 rows and turned 2,000 allowed ids into 2,000 primary-key probes, twice
     * (page and total): a sort find of bench scenario 2 took 10.3 ms in the database against 1.3.
     */
    idsCondition(table: ResolvedTable, ids: string[]): Condition {
      return { sql: `${ident(table.primaryKey.column)} = ANY($1::${table.primaryKey.sqlType}[])`, params: [ids] }
    },
  }
}

export type RecordsStore = ReturnType<typeof createRecordsStore>
