import { copyTextChunks } from '../../db/copy-text.js'
import type { Queryable, Transaction } from '../../db/db.js'
import type { Resource, ResourceInput, ResourceRef } from './resources-types.js'

interface ResourceRow {
  kind: string
  id: string
  display_name: string
  labels: Record<string, string>
  created_at: Date
  updated_at: Date
}

const COLUMNS = 'kind, id, display_name, labels, created_at, updated_at'

/** A bulk upload's rows on their way in: a temporary table of one transaction. */
const STAGING = { table: 'resources_staging', columns: ['kind', 'id', 'display_name', 'labels'] } as const

const toResource = (row: ResourceRow): Resource => ({
  kind: row.kind,
  id: row.id,
  displayName: row.display_name,
  labels: row.labels,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
})

export function createResourcesStore() {
  return {
    /**
     * One batch, inside the caller's transaction: the rows are COPYed into a temporary staging table
     * (dropped at commit), then one INSERT … ON CONFLICT moves them. A row whose content is unchanged
     * is not rewritten, so repeating an upload changes nothing (not even updated_at). Returns how
     * many rows were inserted and how many existing ones changed.
     */
    async upsertMany(tx: Transaction, spaceId: string, resources: ResourceInput[]): Promise<{ created: number; updated: number }> {
      await tx.query(`CREATE TEMP TABLE ${STAGING.table} (kind text NOT NULL, id text NOT NULL, display_name text NOT NULL, labels jsonb NOT NULL) ON COMMIT DROP`)
      await tx.copyFrom(
        STAGING,
        copyTextChunks(resources.map((resource) => [resource.kind, resource.id, resource.displayName ?? '', JSON.stringify(resource.labels ?? {})])),
      )
      // xmax is 0 on a row this statement inserted, and set on one it updated.
      const { rows } = await tx.query<{ created: number; changed: number }>(
        `WITH upserted AS (
           INSERT INTO resources AS r (space_id, kind, id, display_name, labels)
           SELECT $1, s.kind, s.id, s.display_name, s.labels FROM ${STAGING.table} s
           -- Key order: concurrent batches that share rows lock them in one order, so never deadlock.
           ORDER BY s.kind, s.id
           ON CONFLICT (space_id, kind, id) DO UPDATE
             SET display_name = excluded.display_name, labels = excluded.labels, updated_at = now()
             WHERE r.display_name IS DISTINCT FROM excluded.display_name OR r.labels IS DISTINCT FROM excluded.labels
           RETURNING r.xmax = 0 AS created)
         SELECT count(*) FILTER (WHERE created)::int AS created, count(*)::int AS changed FROM upserted`,
        [spaceId],
      )
      const { created = 0, changed = 0 } = rows[0] ?? {}
      return { created, updated: changed - created }
    },

    async get(db: Queryable, spaceId: string, ref: ResourceRef): Promise<Resource | null> {
      const { rows } = await db.query<ResourceRow>(`SELECT ${COLUMNS} FROM resources WHERE space_id = $1 AND kind = $2 AND id = $3`, [
        spaceId,
        ref.kind,
        ref.id,
      ])
      return rows[0] ? toResource(rows[0]) : null
    },

    async getMany(db: Queryable, spaceId: string, refs: ResourceRef[]): Promise<Resource[]> {
      const { rows } = await db.query<ResourceRow>(
        `SELECT ${COLUMNS} FROM resources r
         WHERE r.space_id = $1 AND (r.kind, r.id) IN (SELECT x.kind, x.id FROM jsonb_to_recordset($2::jsonb) AS x(kind text, id text))`,
        [spaceId, JSON.stringify(refs)],
      )
      return rows.map(toResource)
    },

    /** Keyset pages by (kind, id); `after` is the last row of the previous page. */
    async list(
      db: Queryable,
      spaceId: string,
      filter: { kind?: string; labels?: Record<string, string> },
      after: ResourceRef | null,
      limit: number,
    ): Promise<Resource[]> {
      const { rows } = await db.query<ResourceRow>(
        `SELECT ${COLUMNS} FROM resources
         WHERE space_id = $1
           AND ($2::text IS NULL OR kind = $2)
           AND ($3::jsonb IS NULL OR labels @> $3::jsonb)
           AND ($4::text IS NULL OR (kind, id) > ($4, $5))
         ORDER BY kind, id LIMIT $6`,
        [spaceId, filter.kind ?? null, filter.labels ? JSON.stringify(filter.labels) : null, after?.kind ?? null, after?.id ?? null, limit],
      )
      return rows.map(toResource)
    },

    async delete(tx: Queryable, spaceId: string, ref: ResourceRef): Promise<boolean> {
      const { rowCount } = await tx.query('DELETE FROM resources WHERE space_id = $1 AND kind = $2 AND id = $3', [spaceId, ref.kind, ref.id])
      return rowCount > 0
    },
  }
}

export type ResourcesStore = ReturnType<typeof createResourcesStore>
