import { conflict } from '../../../http/errors.js'
import { IDENTIFIER, SQL_TYPES, type FieldType, type Model, type ModelDefinition } from './model-types.js'

/** Identifiers reach DDL only after matching IDENTIFIER; quoting is a second line of defence. */
export function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a safe identifier: ${name}`)
  return `"${name}"`
}

export const tableRef = (tableName: string) => `vault.${ident(tableName)}`

/**
 * Text columns use the "C" collation (code-point order): the filter compiler compares and sorts
 * strings that way on every server locale, and an index serves a query only in its own collation.
 */
const columnType = (type: FieldType) => (type === 'string' ? 'text COLLATE "C"' : SQL_TYPES[type])
const indexName = (tableName: string, field: string) => ident(`${tableName}_${field}`.slice(0, 63))

export function createTableSql(tableName: string, model: ModelDefinition): string[] {
  const columns = Object.entries(model.fields).map(([name, field]) => {
    const primary = name === model.primaryKey ? ' PRIMARY KEY' : field.required ? ' NOT NULL' : ''
    return `${ident(name)} ${columnType(field.type)}${primary}`
  })
  columns.push(`"created_at" timestamptz NOT NULL DEFAULT date_trunc('second', now())`)
  columns.push(`"updated_at" timestamptz NOT NULL DEFAULT date_trunc('second', now())`)
  return [
    `CREATE TABLE ${tableRef(tableName)} (${columns.join(', ')})`,
    ...Object.entries(model.fields)
      .filter(([name, field]) => field.searchable && name !== model.primaryKey)
      .map(([name]) => `CREATE INDEX ${indexName(tableName, name)} ON ${tableRef(tableName)} (${ident(name)})`),
    `CREATE INDEX ${indexName(tableName, 'created_at')} ON ${tableRef(tableName)} ("created_at")`,
  ]
}

/** Type changes that keep every value: widening a number, or anything to text. */
const SAFE_CHANGES: Partial<Record<FieldType, FieldType[]>> = {
  integer: ['decimal', 'string'],
  decimal: ['string'],
  boolean: ['string'],
  date: ['string', 'datetime'],
  datetime: ['string'],
}

/**
 * The DDL that turns a model's table from `current` into `next`, or a 409 that says why it would
 * lose data. `rowCount` decides whether a new required field can be added.
 */
export function migrationSql(current: Model, next: ModelDefinition, rowCount: number): string[] {
  const table = tableRef(current.tableName)
  if (next.primaryKey !== current.primaryKey) {
    throw conflict(`cannot change the primary key of model '${current.name}' from '${current.primaryKey}' to '${next.primaryKey}'`)
  }
  const statements: string[] = []
  for (const [name, field] of Object.entries(current.fields)) {
    const wanted = next.fields[name]
    if (!wanted) {
      if (name === current.primaryKey) throw conflict(`cannot drop the primary key '${name}' of model '${current.name}'`)
      statements.push(`ALTER TABLE ${table} DROP COLUMN ${ident(name)}`)
      continue
    }
    if (wanted.type !== field.type) {
      if (name === current.primaryKey || !SAFE_CHANGES[field.type]?.includes(wanted.type)) {
        throw conflict(`changing field '${name}' from ${field.type} to ${wanted.type} could lose data; add a new field and copy the values instead`)
      }
      const using = wanted.type === 'string' ? `${ident(name)}::text` : `${ident(name)}::${SQL_TYPES[wanted.type]}`
      statements.push(`ALTER TABLE ${table} ALTER COLUMN ${ident(name)} TYPE ${columnType(wanted.type)} USING ${using}`)
    }
    if (name !== current.primaryKey && Boolean(wanted.required) !== Boolean(field.required)) {
      if (wanted.required && rowCount > 0) {
        statements.push(`ALTER TABLE ${table} ALTER COLUMN ${ident(name)} SET NOT NULL`) // fails (409 below) if a record lacks it
      } else {
        statements.push(`ALTER TABLE ${table} ALTER COLUMN ${ident(name)} ${wanted.required ? 'SET' : 'DROP'} NOT NULL`)
      }
    }
    if (name !== current.primaryKey && Boolean(wanted.searchable) !== Boolean(field.searchable)) {
      statements.push(
        wanted.searchable
          ? `CREATE INDEX ${indexName(current.tableName, name)} ON ${table} (${ident(name)})`
          : `DROP INDEX IF EXISTS vault.${indexName(current.tableName, name)}`,
      )
    }
  }
  for (const [name, field] of Object.entries(next.fields)) {
    if (current.fields[name]) continue
    if (field.required && rowCount > 0) {
      throw conflict(`cannot add required field '${name}': ${rowCount} existing records have no value for it; add it as optional first`)
    }
    statements.push(`ALTER TABLE ${table} ADD COLUMN ${ident(name)} ${columnType(field.type)}${field.required ? ' NOT NULL' : ''}`)
    if (field.searchable) statements.push(`CREATE INDEX ${indexName(current.tableName, name)} ON ${table} (${ident(name)})`)
  }
  return statements
}
