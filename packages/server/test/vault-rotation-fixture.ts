import { expect } from 'vitest'
import { ident, internalIdent } from '../src/modules/vault/models/model-ddl.js'
import { createModelsStore } from '../src/modules/vault/models/models-store.js'
import { createTableResolver, type ResolvedTable } from '../src/modules/vault/records/resolved-table.js'
import type { Harness } from './harness.js'

/**
 * The model of the key rotation tests: three encrypted fields (`name` with a blind index for
 * equality finds, `born` a date, `note` sometimes null) and a plain indexed `city`.
 */
export const PEOPLE = {
  name: 'people',
  primaryKey: 'id',
  fields: {
    id: { type: 'integer' },
    name: { type: 'string', encrypted: true, searchable: 'equality' },
    born: { type: 'date', encrypted: true },
    note: { type: 'string', encrypted: true },
    city: { type: 'string', searchable: true },
  },
}
export const ENCRYPTED_FIELDS = ['name', 'born', 'note'] as const

export interface Person {
  id: number
  name: string
  born: string
  note: string | null
  city: string
}

const two = (n: number) => String(n).padStart(2, '0')

/** Record `id` as seeded: `names` distinct names and `cities` distinct cities, spread evenly. */
export function person(id: number, shape: { names: number; cities: number }): Person {
  return {
    id,
    name: `person-${id % shape.names}`,
    born: `${1950 + (id % 50)}-${two((id % 12) + 1)}-${two((id % 28) + 1)}`,
    note: id % 10 === 0 ? null : `note of ${id}`,
    city: `city-${id % shape.cities}`,
  }
}

/** The fields a test compares (an answer also carries created_at and updated_at). */
export const personOf = (record: Record<string, unknown>): Person => ({
  id: Number(record.id),
  name: record.name as string,
  born: record.born as string,
  note: (record.note ?? null) as string | null,
  city: record.city as string,
})

export async function peopleTable(h: Harness): Promise<{ spaceId: string; table: ResolvedTable; tableName: string }> {
  const { rows } = await h.db.query<{ space_id: string; table_name: string }>("SELECT space_id, table_name FROM vault_models WHERE name = 'people'")
  const spaceId = rows[0]!.space_id
  const model = await createModelsStore().get(h.db, spaceId, 'people')
  return { spaceId, tableName: rows[0]!.table_name, table: await createTableResolver({ db: h.db, keys: h.built.services.fieldKeys }).resolve(spaceId, model!) }
}

/**
 * Seeds records 0…count-1 fast: sealed by the model's resolved table (as a create through the API
 * seals them, under the current keys) and inserted 10,000 per statement from one JSON parameter,
 * two statements per transaction, instead of a thousand HTTP batches. Returns the milliseconds taken.
 */
export async function seedPeople(h: Harness, count: number, shape: { names: number; cities: number }): Promise<number> {
  const startedAt = Date.now()
  const { table } = await peopleTable(h)
  const PER_STATEMENT = 10_000
  const statements: Array<{ sql: string; json: string }> = []
  for (let start = 0; start < count; start += PER_STATEMENT) {
    const ids = Array.from({ length: Math.min(PER_STATEMENT, count - start) }, (_, i) => start + i)
    const sealed = ids.map((id) => {
      const { id: key, ...rest } = person(id, shape)
      return table.seal(new Map<string, unknown>([['id', key], ...Object.entries(rest)]), String(id))
    })
    const columns = sealed[0]!
    const rows = sealed.map((row) => Object.fromEntries(row.map((stored, i) => [`c${i}`, Buffer.isBuffer(stored.value) ? stored.value.toString('hex') : stored.value])))
    const names = columns.map((stored) => (stored.internal ? internalIdent(stored.column) : ident(stored.column)))
    const values = columns.map((stored, i) => (stored.sqlType === 'bytea' ? `decode(r.c${i}, 'hex')` : `r.c${i}::${stored.sqlType}`))
    const sql = `INSERT INTO ${table.ref} (${names.join(', ')}) SELECT ${values.join(', ')} FROM jsonb_to_recordset($1::jsonb) AS r(${columns.map((_, i) => `c${i} text`).join(', ')})`
    statements.push({ sql, json: JSON.stringify(rows) })
  }
  for (let i = 0; i < statements.length; i += 2) {
    await h.db.transaction(async (tx) => {
      for (const { sql, json } of statements.slice(i, i + 2)) await tx.query(sql, [json])
    })
  }
  const { rows } = await h.db.query<{ n: number | string }>(`SELECT count(*)::int8 AS n FROM ${table.ref}`)
  expect(Number(rows[0]!.n)).toBe(count)
  return Date.now() - startedAt
}

/** How many stored values of each encrypted field are under each data key version: `{ name: { 1: n, 2: m }, … }`. */
export async function storedVersions(h: Harness): Promise<Record<string, Record<number, number>>> {
  const { tableName } = await peopleTable(h)
  const out: Record<string, Record<number, number>> = {}
  for (const field of ENCRYPTED_FIELDS) {
    const { rows } = await h.db.query<{ v: number; n: number }>(
      `SELECT ('x' || encode(substring(${ident(field)} from 2 for 4), 'hex'))::bit(32)::int AS v, count(*)::int AS n FROM vault.${ident(tableName)} WHERE ${ident(field)} IS NOT NULL GROUP BY 1 ORDER BY 1`,
    )
    out[field] = Object.fromEntries(rows.map((row) => [row.v, row.n]))
  }
  return out
}
