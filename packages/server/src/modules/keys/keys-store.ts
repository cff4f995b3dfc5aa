import type { Queryable } from '../../db/db.js'
import type { WrappedKeyRow } from './keys-types.js'

/** Which versioned key table: a space's data keys, or one field's blind-index keys. */
export type KeyScope = { kind: 'data'; spaceId: string } | { kind: 'index'; spaceId: string; model: string; field: string }

interface KeyRow {
  version: number
  kek_id: string
  wrapped: Uint8Array | null
  retired_at: Date | null
}

const toRow = (row: KeyRow): WrappedKeyRow => ({
  version: row.version,
  kekId: row.kek_id,
  wrapped: row.wrapped ? Buffer.from(row.wrapped) : null,
  retiredAt: row.retired_at,
})

/** The table and the WHERE clause naming one scope's keys; the parameters start at $1. */
function where(scope: KeyScope): { table: string; condition: string; params: string[] } {
  return scope.kind === 'data'
    ? { table: 'space_data_keys', condition: 'space_id = $1', params: [scope.spaceId] }
    : { table: 'vault_index_keys', condition: 'space_id = $1 AND model = $2 AND field = $3', params: [scope.spaceId, scope.model, scope.field] }
}

export function createKeysStore() {
  return {
    /** Whether migration 0012 has run (checked before migrating, so a wrong key changes nothing). */
    async hasKeyTables(q: Queryable): Promise<boolean> {
      const { rows } = await q.query<{ found: string | null }>(`SELECT to_regclass('public.master_keys')::text AS found`)
      return rows[0]?.found != null
    },

    async currentMasterKeyId(q: Queryable): Promise<string | null> {
      const { rows } = await q.query<{ key_id: string }>('SELECT key_id FROM master_keys WHERE retired_at IS NULL')
      return rows[0]?.key_id ?? null
    },

    async isRetiredMasterKey(q: Queryable, keyId: string): Promise<boolean> {
      const { rows } = await q.query('SELECT 1 FROM master_keys WHERE key_id = $1 AND retired_at IS NOT NULL', [keyId])
      return rows.length > 0
    },

    /** Records `keyId` as current; false when another is current already (or it was used before). */
    async addCurrentMasterKey(q: Queryable, keyId: string): Promise<boolean> {
      const { rowCount } = await q.query('INSERT INTO master_keys (key_id) VALUES ($1) ON CONFLICT DO NOTHING', [keyId])
      return rowCount === 1
    },

    async retireCurrentMasterKey(q: Queryable, at: Date): Promise<void> {
      await q.query('UPDATE master_keys SET retired_at = $1 WHERE retired_at IS NULL', [at])
    },

    /** Every version not retired, newest first. */
    async liveKeys(q: Queryable, scope: KeyScope): Promise<WrappedKeyRow[]> {
      const { table, condition, params } = where(scope)
      const { rows } = await q.query<KeyRow>(`SELECT version, kek_id, wrapped, retired_at FROM ${table} WHERE ${condition} AND retired_at IS NULL ORDER BY version DESC`, params)
      return rows.map(toRow)
    },

    /** Every version ever made, retired ones included (their wrapped bytes are gone), newest first. */
    async allKeys(q: Queryable, scope: KeyScope): Promise<WrappedKeyRow[]> {
      const { table, condition, params } = where(scope)
      const { rows } = await q.query<KeyRow>(`SELECT version, kek_id, wrapped, retired_at FROM ${table} WHERE ${condition} ORDER BY version DESC`, params)
      return rows.map(toRow)
    },

    /** Adds a version unless it exists (another node made it first): false then. */
    async insertKey(q: Queryable, scope: KeyScope, version: number, kekId: string, wrapped: Buffer): Promise<boolean> {
      const { rowCount } =
        scope.kind === 'data'
          ? await q.query('INSERT INTO space_data_keys (space_id, version, kek_id, wrapped) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [scope.spaceId, version, kekId, wrapped])
          : await q.query('INSERT INTO vault_index_keys (space_id, model, field, version, kek_id, wrapped) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING', [scope.spaceId, scope.model, scope.field, version, kekId, wrapped])
      return rowCount === 1
    },

    /** Retires a version and erases its wrapped bytes: nothing can unwrap it afterwards. */
    async retireKey(q: Queryable, scope: KeyScope, version: number, at: Date): Promise<boolean> {
      const { table, condition, params } = where(scope)
      const { rowCount } = await q.query(`UPDATE ${table} SET retired_at = $${params.length + 1}, wrapped = NULL WHERE ${condition} AND version = $${params.length + 2} AND retired_at IS NULL`, [...params, at, version])
      return rowCount === 1
    },

    /** Up to `limit` live wrapped keys (both tables) not yet under `kekId`, locked for rewrapping. */
    async keysNotUnder(q: Queryable, kekId: string, limit: number): Promise<Array<{ scope: KeyScope } & WrappedKeyRow>> {
      const data = await q.query<KeyRow & { space_id: string }>(
        `SELECT space_id, version, kek_id, wrapped, retired_at FROM space_data_keys WHERE wrapped IS NOT NULL AND kek_id <> $1 ORDER BY space_id, version LIMIT $2 FOR UPDATE`,
        [kekId, limit],
      )
      const out: Array<{ scope: KeyScope } & WrappedKeyRow> = data.rows.map((row) => ({ scope: { kind: 'data', spaceId: row.space_id }, ...toRow(row) }))
      if (out.length >= limit) return out
      const index = await q.query<KeyRow & { space_id: string; model: string; field: string }>(
        `SELECT space_id, model, field, version, kek_id, wrapped, retired_at FROM vault_index_keys WHERE wrapped IS NOT NULL AND kek_id <> $1 ORDER BY space_id, model, field, version LIMIT $2 FOR UPDATE`,
        [kekId, limit - out.length],
      )
      return [...out, ...index.rows.map((row) => ({ scope: { kind: 'index' as const, spaceId: row.space_id, model: row.model, field: row.field }, ...toRow(row) }))]
    },

    async rewrapKey(q: Queryable, scope: KeyScope, version: number, kekId: string, wrapped: Buffer): Promise<void> {
      const { table, condition, params } = where(scope)
      await q.query(`UPDATE ${table} SET kek_id = $${params.length + 1}, wrapped = $${params.length + 2} WHERE ${condition} AND version = $${params.length + 3}`, [...params, kekId, wrapped, version])
    },

    /** How many live wrapped keys are not under `kekId` (0 after a complete rewrap). */
    async countNotUnder(q: Queryable, kekId: string): Promise<number> {
      const { rows } = await q.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM space_data_keys WHERE wrapped IS NOT NULL AND kek_id <> $1) + (SELECT count(*) FROM vault_index_keys WHERE wrapped IS NOT NULL AND kek_id <> $1) AS n`,
        [kekId],
      )
      return Number(rows[0]?.n ?? 0)
    },
  }
}

export type KeysStore = ReturnType<typeof createKeysStore>
