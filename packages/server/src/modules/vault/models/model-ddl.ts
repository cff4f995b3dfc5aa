import { createHash } from 'node:crypto'
import { IDENTIFIER, SQL_TYPES, type FieldDefinition, type FieldType, type ModelDefinition } from './model-types.js'
import type { ModelChange } from './plan-model-change.js'

/** Identifiers reach DDL only after matching IDENTIFIER; quoting is a second line of defence. */
export function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a safe identifier: ${name}`)
  return `"${name}"`
}

export const tableRef = (tableName: string) => `vault.${ident(tableName)}`

/** The vault's own columns beside a field's (a blind index): a leading '_' no field name can have. */
const INTERNAL = /^_[a-z0-9_]{1,62}$/
export function internalIdent(name: string): string {
  if (!INTERNAL.test(name)) throw new Error(`not a safe internal identifier: ${name}`)
  return `"${name}"`
}

/** The blind index column of an encrypted field: `_bi_<field>`, shortened with a hash past 63 characters. */
export function blindIndexColumn(field: string): string {
  const name = `_bi_${field}`
  return name.length <= 63 ? name : `_bi_${field.slice(0, 48)}_${createHash('sha256').update(field).digest('hex').slice(0, 10)}`
}

/** The column type of a field: ciphertext for an encrypted one. */
const fieldColumnType = (field: FieldDefinition) => (field.encrypted ? 'bytea' : columnType(field.type))
const hasBlindIndex = (field: FieldDefinition) => field.encrypted === true && field.searchable === 'equality'
const blindIndexSql = (tableName: string, field: string) => [
  `ALTER TABLE ${tableRef(tableName)} ADD COLUMN ${internalIdent(blindIndexColumn(field))} bytea`,
  `CREATE INDEX ${indexName(tableName, blindIndexColumn(field).slice(1))} ON ${tableRef(tableName)} (${internalIdent(blindIndexColumn(field))})`,
]

/**
 * Text columns use the "C" collation (code-point order): the filter compiler compares and sorts
 * strings that way on every server locale, and an index serves a query only in its own collation.
 */
const columnType = (type: FieldType) => (type === 'string' ? 'text COLLATE "C"' : SQL_TYPES[type])
const indexName = (tableName: string, field: string) => ident(`${tableName}_${field}`.slice(0, 63))

export function createTableSql(tableName: string, model: ModelDefinition): string[] {
  const columns = Object.entries(model.fields).map(([name, field]) => {
    const primary = name === model.primaryKey ? ' PRIMARY KEY' : field.required ? ' NOT NULL' : ''
    return `${ident(name)} ${fieldColumnType(field)}${primary}`
  })
  columns.push(`"created_at" timestamptz NOT NULL DEFAULT date_trunc('second', now())`)
  columns.push(`"updated_at" timestamptz NOT NULL DEFAULT date_trunc('second', now())`)
  return [
    `CREATE TABLE ${tableRef(tableName)} (${columns.join(', ')})`,
    ...Object.entries(model.fields)
      .filter(([name, field]) => field.searchable === true && name !== model.primaryKey)
      .map(([name]) => `CREATE INDEX ${indexName(tableName, name)} ON ${tableRef(tableName)} (${ident(name)})`),
    ...Object.entries(model.fields)
      .filter(([, field]) => hasBlindIndex(field))
      .flatMap(([name]) => blindIndexSql(tableName, name)),
    `CREATE INDEX ${indexName(tableName, 'created_at')} ON ${tableRef(tableName)} ("created_at")`,
  ]
}

/** The DDL for a plan's changes (see plan-model-change.ts), in the plan's order. */
export function changeSql(tableName: string, changes: readonly ModelChange[]): string[] {
  const table = tableRef(tableName)
  return changes.flatMap((change) => {
    const column = ident(change.field)
    switch (change.op) {
      case 'add':
        if (change.encrypted) {
          const add = `ALTER TABLE ${table} ADD COLUMN ${column} bytea${change.required ? ' NOT NULL' : ''}`
          return change.blindIndex ? [add, ...blindIndexSql(tableName, change.field)] : [add]
        }
        return `ALTER TABLE ${table} ADD COLUMN ${column} ${columnType(change.to)}${change.required ? ' NOT NULL' : ''}`
      case 'drop': // a blind index column goes with it (DROP … CASCADE is not needed: it is a column of its own)
        return change.blindIndex ? [`ALTER TABLE ${table} DROP COLUMN ${column}`, `ALTER TABLE ${table} DROP COLUMN ${internalIdent(blindIndexColumn(change.field))}`] : `ALTER TABLE ${table} DROP COLUMN ${column}`
      case 'widen': {
        const using = change.to === 'string' ? `${column}::text` : `${column}::${SQL_TYPES[change.to]}`
        return `ALTER TABLE ${table} ALTER COLUMN ${column} TYPE ${columnType(change.to)} USING ${using}`
      }
      case 'require': // fails with 23502 (a 409 in the service) if a record lacks a value
        return `ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL`
      case 'unrequire':
        return `ALTER TABLE ${table} ALTER COLUMN ${column} DROP NOT NULL`
      case 'index':
        return `CREATE INDEX ${indexName(tableName, change.field)} ON ${table} (${column})`
      case 'unindex':
        return `DROP INDEX IF EXISTS vault.${indexName(tableName, change.field)}`
    }
  })
}
