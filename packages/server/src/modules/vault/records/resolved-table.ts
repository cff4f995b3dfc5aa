import type { Db } from '../../../db/db.js'
import { AppError } from '../../../http/errors.js'
import { blindIndex, decryptValue, encryptValue, fieldAad } from '../../../lib/crypto/field-crypto.js'
import type { IndexKeys, VersionedKey } from '../../keys/keys-types.js'
import type { FieldKeys } from '../crypto/field-keys.js'
import { canonicalText, columnValue } from '../crypto/field-values.js'
import type { FieldSpec } from '../find/filter-types.js'
import { blindIndexColumn, tableRef } from '../models/model-ddl.js'
import { SQL_TYPES, type FieldType, type Model } from '../models/model-types.js'

/** Where one model field lives in its table. */
export interface ColumnSpec {
  field: string
  type: FieldType
  /** The column holding the value (or its ciphertext); an IDENTIFIER, still emitted only through ident(). */
  column: string
  /** The SQL type parameters are cast to: the field's, or bytea for ciphertext. */
  sqlType: string
  /** An encrypted field, and the column of its blind index if it has one. */
  encrypted?: { indexColumn: string | null; bits: number }
}

/** One column value as the store writes it; `internal` columns (blind indexes) are the vault's own names. */
export interface StoredColumn {
  column: string
  sqlType: string
  value: unknown
  internal?: boolean
}

/**
 * Everything the records store needs to reach one model's rows, resolved once per call: which
 * database, which table, which column holds each field, and how an encrypted field is sealed and
 * opened. The store sees only this, never the model or a global handle, so where a model's rows
 * live and how a field is stored are decided here.
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
  /** Validated values (field → text or null) of the record `key` → the columns to write: ciphertext and blind index for an encrypted field. */
  seal(values: ReadonlyMap<string, unknown>, key: string): StoredColumn[]
  /**
   * A stored row with `fields` decrypted (the others of its encrypted fields removed, never shown
   * as ciphertext). A value that does not decrypt under its record's identity is refused whole.
   */
  open(row: Record<string, unknown>, fields: Iterable<string>): Record<string, unknown>
  /** One encrypted field's canonical text (null when missing), for an exact check; the same refusal as `open`. */
  decryptText(row: Record<string, unknown>, field: string): string | null
}

interface TableKeys {
  /** Encrypts new values. */
  data: VersionedKey
  /** Every live data key, by version: decrypts. */
  dataVersions: (version: number) => Buffer | undefined
  index: Map<string, IndexKeys>
}

function columnsOf(model: Model): Map<string, ColumnSpec> {
  const columns = new Map<string, ColumnSpec>()
  for (const [name, field] of Object.entries(model.fields)) {
    if (!field.encrypted) {
      columns.set(name, { field: name, type: field.type, column: name, sqlType: SQL_TYPES[field.type] })
      continue
    }
    const indexed = field.searchable === 'equality'
    columns.set(name, { field: name, type: field.type, column: name, sqlType: 'bytea', encrypted: { indexColumn: indexed ? blindIndexColumn(name) : null, bits: field.indexBits ?? 0 } })
  }
  return columns
}

/** Names the record and field (never a value); the cipher's own reason follows. */
const integrity = (model: string, key: unknown, field: string, why: string) => new AppError('integrity_failed', `record '${String(key)}' of '${model}', field '${field}': ${why}`)

export function resolveTable(db: Db, model: Model, spaceId = '', keys: TableKeys | null = null): ResolvedTable {
  const columns = columnsOf(model)
  const filterFields = new Map<string, FieldSpec>()
  for (const spec of columns.values()) {
    const index = spec.encrypted?.indexColumn ? keys?.index.get(spec.field) : undefined
    const encrypted = spec.encrypted
      ? {
          index:
            spec.encrypted.indexColumn && index
              ? {
                  column: spec.encrypted.indexColumn,
                  bits: spec.encrypted.bits,
                  // The previous index key too while re-indexing runs: a row not yet re-indexed is still found.
                  lookup: (value: string) => [index.current, ...(index.previous ? [index.previous] : [])].map((key) => blindIndex(key.key, value, spec.encrypted!.bits)),
                }
              : null,
        }
      : undefined
    filterFields.set(spec.field, { name: spec.field, type: spec.type, column: spec.column, ...(encrypted ? { encrypted } : {}) })
  }
  filterFields.set('created_at', { name: 'created_at', type: 'datetime', column: 'created_at' })
  filterFields.set('updated_at', { name: 'updated_at', type: 'datetime', column: 'updated_at' })
  const aad = (field: string, key: string) => fieldAad(spaceId, model.name, field, key)
  const needKeys = (): TableKeys => {
    if (!keys) throw new AppError('unavailable', `model '${model.name}' has encrypted fields and this server holds no field keys`)
    return keys
  }

  function decryptText(row: Record<string, unknown>, field: string): string | null {
    const stored = row[field]
    if (stored === null || stored === undefined) return null
    const key = String(row[model.primaryKey])
    const bytes = Buffer.isBuffer(stored) ? stored : Buffer.from(stored as Uint8Array)
    try {
      return decryptValue(needKeys().dataVersions, bytes, aad(field, key)).toString('utf8')
    } catch (error) {
      if (error instanceof AppError && error.code === 'integrity_failed') throw integrity(model.name, key, field, error.message)
      throw error
    }
  }

  return {
    db,
    model: model.name,
    ref: tableRef(model.tableName),
    primaryKey: columns.get(model.primaryKey)!,
    columns,
    filterFields,

    seal(values, key) {
      const out: StoredColumn[] = []
      for (const [field, value] of values) {
        const spec = columns.get(field)!
        if (!spec.encrypted) {
          out.push({ column: spec.column, sqlType: spec.sqlType, value })
          continue
        }
        const { data, index } = needKeys()
        const canonical = value === null || value === undefined ? null : canonicalText(spec.type, String(value))
        out.push({ column: spec.column, sqlType: 'bytea', value: canonical === null ? null : encryptValue(data.key, Buffer.from(canonical, 'utf8'), aad(field, key), data.version) })
        if (spec.encrypted.indexColumn) {
          const indexKey = index.get(field)!.current.key
          out.push({ column: spec.encrypted.indexColumn, sqlType: 'bytea', value: canonical === null ? null : blindIndex(indexKey, canonical, spec.encrypted.bits), internal: true })
        }
      }
      return out
    },

    open(row, fields) {
      const wanted = new Set(fields)
      for (const spec of columns.values()) {
        if (!spec.encrypted) continue
        if (!wanted.has(spec.field)) {
          delete row[spec.field]
          continue
        }
        const text = decryptText(row, spec.field)
        row[spec.field] = text === null ? null : columnValue(spec.type, text)
      }
      return row
    },

    decryptText,
  }
}

/** Resolves a model's table for a call: its database, and the field keys its encrypted fields need. */
export function createTableResolver(deps: { db: Db; keys?: FieldKeys }) {
  return {
    async resolve(spaceId: string, model: Model): Promise<ResolvedTable> {
      const encrypted = Object.entries(model.fields).filter(([, field]) => field.encrypted)
      if (encrypted.length === 0) return resolveTable(deps.db, model, spaceId)
      if (!deps.keys) throw new AppError('unavailable', `model '${model.name}' has encrypted fields and this server holds no field keys: configure its master key`)
      // From the field-key cache: no statement at all once a space's keys are warm on this node.
      const data = await deps.keys.dataKeys(spaceId)
      const index = new Map<string, IndexKeys>()
      for (const [name, field] of encrypted) if (field.searchable === 'equality') index.set(name, await deps.keys.indexKeys(spaceId, model.name, name))
      return resolveTable(deps.db, model, spaceId, { data: data.current, dataVersions: data.versions, index })
    },
  }
}

export type TableResolver = ReturnType<typeof createTableResolver>
