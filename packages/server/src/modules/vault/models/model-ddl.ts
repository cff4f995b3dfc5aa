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

/** A field's column or a converting field's shadow column (`_cv_…`). */
export const storedIdent = (name: string): string => (name.startsWith('_cv_') ? internalIdent(name) : ident(name))

/** The blind index column of an encrypted field: `_bi_<field>`, shortened with a hash past 63 characters. */
export function blindIndexColumn(field: string): string {
  const name = `_bi_${field}`
  return name.length <= 63 ? name : `_bi_${field.slice(0, 48)}_${createHash('sha256').update(field).digest('hex').slice(0, 10)}`
}

/** The shadow column of a field being converted (its new form until the job ends): `_cv_<field>`, shortened like a blind index's. */
export function shadowColumn(field: string): string {
  const name = `_cv_${field}`
  return name.length <= 63 ? name : `_cv_${field.slice(0, 48)}_${createHash('sha256').update(field).digest('hex').slice(0, 10)}`
}

/** The trigger function guarding one conversion (see conversionStartSql). */
const guardName = (tableName: string, field: string, prefix: string) => internalIdent(`${prefix}_${createHash('sha256').update(`${tableName}/${field}`).digest('hex').slice(0, 24)}`)
const guardFunction = (tableName: string, field: string) => `vault.${guardName(tableName, field, '_cv')}`

/** What the DDL of a conversion needs to know (plan-model-change.ts's `encrypt`/`decrypt` change). */
export interface ConversionShape {
  op: 'encrypt' | 'decrypt'
  field: string
  type: FieldType
  required: boolean
  blindIndex?: true
  index?: true
}

/**
 * The start of a conversion: the shadow column of the new form (bytea, with its blind index, for
 * `encrypt`; the plain type, with its B-tree index, for `decrypt`), and a guard on the table.
 *
 * Every write of a node that knows of the conversion writes the shadow column only; the job does
 * too. The guard makes that the one way in, whatever a node still believes about the model:
 * - a write of the shadow column clears the source column (and the source's blind index) in the
 *   same row update, so a row never holds both forms and no plaintext stays behind a converted value;
 * - a write naming the source column (an INSERT giving it a value, an UPDATE naming it) can only
 *   come from a node whose cached model predates the conversion (the change feed's bound,
 *   docs/nodes.md): it is refused with SQLSTATE 40001, a 503 "retry", instead of writing a form the
 *   job may already have passed.
 * A required field's NOT NULL moves to the shadow column when the job ends (the guard empties the source).
 */
export function conversionStartSql(tableName: string, change: ConversionShape): string[] {
  const table = tableRef(tableName)
  const source = ident(change.field)
  const shadow = internalIdent(shadowColumn(change.field))
  const guard = guardFunction(tableName, change.field)
  const clears = [source, ...(change.op === 'decrypt' && change.blindIndex ? [internalIdent(blindIndexColumn(change.field))] : [])]
  const statements =
    change.op === 'encrypt'
      ? [`ALTER TABLE ${table} ADD COLUMN ${shadow} bytea`, ...(change.blindIndex ? blindIndexSql(tableName, change.field) : [])]
      : [`ALTER TABLE ${table} ADD COLUMN ${shadow} ${columnType(change.type)}`, ...(change.index ? [`CREATE INDEX ${indexName(tableName, change.field)} ON ${table} (${shadow})`] : [])]
  if (change.required) statements.push(`ALTER TABLE ${table} ALTER COLUMN ${source} DROP NOT NULL`)
  statements.push(
    `CREATE FUNCTION ${guard}() RETURNS trigger LANGUAGE plpgsql AS $cv$
BEGIN
  IF TG_ARGV[0] = 'shadow' THEN
    ${clears.map((column) => `NEW.${column} := NULL;`).join(' ')}
    RETURN NEW;
  END IF;
  RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = 'field ${change.field} is being converted and this server had not seen it yet: retry';
END
$cv$`,
    `CREATE TRIGGER ${guardName(tableName, change.field, '_cvw')} BEFORE UPDATE OF ${shadow} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${guard}('shadow')`,
    `CREATE TRIGGER ${guardName(tableName, change.field, '_cvu')} BEFORE UPDATE OF ${source} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${guard}('source')`,
    `CREATE TRIGGER ${guardName(tableName, change.field, '_cvi')} BEFORE INSERT ON ${table} FOR EACH ROW WHEN (NEW.${source} IS NOT NULL) EXECUTE FUNCTION ${guard}('source')`,
  )
  return statements
}

/** Drops a conversion's guard function and its triggers. */
export const conversionGuardDropSql = (tableName: string, field: string): string => `DROP FUNCTION ${guardFunction(tableName, field)}() CASCADE`

/** The end of a conversion (the job's last batch): the guard and the old form go, the shadow column takes the field's name. */
export function conversionEndSql(tableName: string, change: ConversionShape): string[] {
  const table = tableRef(tableName)
  const column = ident(change.field)
  return [
    conversionGuardDropSql(tableName, change.field),
    `ALTER TABLE ${table} DROP COLUMN ${column}`,
    ...(change.op === 'decrypt' && change.blindIndex ? [`ALTER TABLE ${table} DROP COLUMN ${internalIdent(blindIndexColumn(change.field))}`] : []),
    `ALTER TABLE ${table} RENAME COLUMN ${internalIdent(shadowColumn(change.field))} TO ${column}`,
    ...(change.required ? [`ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL`] : []),
  ]
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
      case 'encrypt':
      case 'decrypt':
        return conversionStartSql(tableName, change)
    }
  })
}
