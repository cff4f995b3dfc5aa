import type { Db } from '../../../db/db.js'
import type { FieldSpec } from '../find/filter-types.js'
import { tableRef } from '../models/model-ddl.js'
import { SQL_TYPES, type FieldType, type Model } from '../models/model-types.js'

/** Where one model field lives in its table. */
export interface ColumnSpec {
  field: string
  type: FieldType
  /** The column holding the value; already an IDENTIFIER, still emitted only through ident(). */
  column: string
  /** The SQL type parameters are cast to. */
  sqlType: string
}

/**
 * Everything the records store needs to reach one model's rows, resolved once per call: which
 * database, which table, and which column holds each field. The store sees only this, never the
 * model or a global handle, so where a model's rows live (another database, a space's own schema)
 * and how a field is stored (a ciphertext column and its blind index) are decided here.
 */
export interface ResolvedTable {
  /** The database holding the rows; reads outside a transaction go to it. */
  db: Db
  model: string
  /** `vault."<table>"`, quoted. */
  ref: string
  primaryKey: ColumnSpec
  /** Every model field, in model order. */
  columns: ReadonlyMap<string, ColumnSpec>
  /** What a filter, a sort or a row scope may name: the fields and created_at/updated_at. */
  filterFields: ReadonlyMap<string, FieldSpec>
}

export function resolveTable(db: Db, model: Model): ResolvedTable {
  const columns = new Map<string, ColumnSpec>()
  const filterFields = new Map<string, FieldSpec>()
  for (const [name, field] of Object.entries(model.fields)) {
    columns.set(name, { field: name, type: field.type, column: name, sqlType: SQL_TYPES[field.type] })
    filterFields.set(name, { name, type: field.type, column: name })
  }
  filterFields.set('created_at', { name: 'created_at', type: 'datetime', column: 'created_at' })
  filterFields.set('updated_at', { name: 'updated_at', type: 'datetime', column: 'updated_at' })
  return { db, model: model.name, ref: tableRef(model.tableName), primaryKey: columns.get(model.primaryKey)!, columns, filterFields }
}

/** Resolves a model's table for a call; one place to put per-space databases and field keys later. */
export function createTableResolver(deps: { db: Db }) {
  return {
    async resolve(_spaceId: string, model: Model): Promise<ResolvedTable> {
      return resolveTable(deps.db, model)
    },
  }
}

export type TableResolver = ReturnType<typeof createTableResolver>
