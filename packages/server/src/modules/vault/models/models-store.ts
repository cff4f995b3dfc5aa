import type { Queryable } from '../../../db/db.js'
import { tableRef } from './model-ddl.js'
import type { FieldDefinition, Model } from './model-types.js'

interface ModelRow {
  name: string
  primary_key: string
  /** An array, not an object: jsonb reorders object keys, and records keep their model's field order. */
  fields: Array<FieldDefinition & { name: string }>
  table_name: string
  created_at: Date
  updated_at: Date
}

const COLUMNS = 'name, primary_key, fields, table_name, created_at, updated_at'

const toFields = (fields: Record<string, FieldDefinition>) => JSON.stringify(Object.entries(fields).map(([name, field]) => ({ name, ...field })))

const toModel = (row: ModelRow): Model => ({
  name: row.name,
  primaryKey: row.primary_key,
  fields: Object.fromEntries(row.fields.map(({ name, ...field }) => [name, field])),
  tableName: row.table_name,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
})

export function createModelsStore() {
  return {
    async insert(tx: Queryable, spaceId: string, model: { name: string; primaryKey: string; fields: Record<string, FieldDefinition>; tableName: string }) {
      await tx.query('INSERT INTO vault_models (space_id, name, primary_key, fields, table_name) VALUES ($1, $2, $3, $4::jsonb, $5)', [
        spaceId,
        model.name,
        model.primaryKey,
        toFields(model.fields),
        model.tableName,
      ])
    },

    async get(db: Queryable, spaceId: string, name: string, lock = false): Promise<Model | null> {
      const { rows } = await db.query<ModelRow>(`SELECT ${COLUMNS} FROM vault_models WHERE space_id = $1 AND name = $2${lock ? ' FOR UPDATE' : ''}`, [spaceId, name])
      return rows[0] ? toModel(rows[0]) : null
    },

    async list(db: Queryable, spaceId: string): Promise<Model[]> {
      const { rows } = await db.query<ModelRow>(`SELECT ${COLUMNS} FROM vault_models WHERE space_id = $1 ORDER BY name`, [spaceId])
      return rows.map(toModel)
    },

    async updateFields(tx: Queryable, spaceId: string, name: string, fields: Record<string, FieldDefinition>) {
      await tx.query('UPDATE vault_models SET fields = $3::jsonb, updated_at = now() WHERE space_id = $1 AND name = $2', [spaceId, name, toFields(fields)])
    },

    async delete(tx: Queryable, spaceId: string, name: string) {
      await tx.query('DELETE FROM vault_models WHERE space_id = $1 AND name = $2', [spaceId, name])
    },

    async rowCount(db: Queryable, tableName: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM ${tableRef(tableName)}`)
      return rows[0]!.n
    },

    /** DDL built by model-ddl.ts from checked identifiers only. */
    async execute(tx: Queryable, statements: string[]) {
      for (const statement of statements) await tx.query(statement)
    },
  }
}

export type ModelsStore = ReturnType<typeof createModelsStore>
