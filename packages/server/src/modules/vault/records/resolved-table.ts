import type { Db } from '../../../db/db.js'
import { AppError } from '../../../http/errors.js'
import { blindIndex, decryptValue, encryptValue, fieldAad } from '../../../lib/crypto/field-crypto.js'
import type { IndexKeys, VersionedKey } from '../../keys/keys-types.js'
import type { FieldKeys } from '../crypto/field-keys.js'
import { canonicalText, columnValue } from '../crypto/field-values.js'
import type { FieldSpec } from '../find/filter-types.js'
import { blindIndexColumn, shadowColumn, tableRef } from '../models/model-ddl.js'
import { valueText } from '../values/validate-value.js'
import { decodeRow } from './record-codec.js'
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
  /**
   * A field a job is converting (model-ddl.ts conversionStartSql): a row holds its value in the
   * plain column or in the ciphertext column, never both (one of them is the shadow column, which
   * writes fill). `column` is then the ciphertext column; `indexColumn` the blind index of the
   * encrypted form, when it has one.
   */
  converting?: { to: 'encrypted' | 'plain'; job: string; plain: string; cipher: string; shadow: string; indexColumn: string | null; bits: number }
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
  /**
   * What an exact check compares for a row `candidates` read: the decrypted text, except on a
   * converting field whose row holds the plain form (undefined: the SQL already compared it exactly).
   */
  exactText(row: Record<string, unknown>, field: string): string | null | undefined
  /**
   * The conversion job's step for one row read with the table's select list: the columns that store
   * the field's value in its new form (null when the row holds no value in the old form).
   */
  convert(row: Record<string, unknown>, field: string): StoredColumn[] | null
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
    if (field.converting) {
      const to = field.converting.to.encrypted ? 'encrypted' : 'plain'
      const encryptedForm = to === 'encrypted' ? field.converting.to : field
      const shadow = shadowColumn(name)
      const indexColumn = encryptedForm.searchable === 'equality' ? blindIndexColumn(name) : null
      const [plain, cipher] = to === 'encrypted' ? [name, shadow] : [shadow, name]
      columns.set(name, { field: name, type: field.type, column: cipher, sqlType: 'bytea', converting: { to, job: field.converting.job, plain, cipher, shadow, indexColumn, bits: encryptedForm.indexBits ?? 0 } })
      continue
    }
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
  /** A blind index's lookup for filters. */
  const lookupOf = (column: string, bits: number, index: IndexKeys) => ({
    column,
    bits,
    // The previous index key too while re-indexing runs: a row not yet re-indexed is still found.
    lookup: (value: string) => [index.current, ...(index.previous ? [index.previous] : [])].map((key) => blindIndex(key.key, value, bits)),
  })
  for (const spec of columns.values()) {
    if (spec.converting) {
      const conv = spec.converting
      const index = conv.indexColumn ? keys?.index.get(spec.field) : undefined
      filterFields.set(spec.field, {
        name: spec.field,
        type: spec.type,
        column: conv.plain,
        converting: { job: conv.job, to: conv.to, plain: conv.plain, cipher: conv.cipher, index: conv.indexColumn && index ? lookupOf(conv.indexColumn, conv.bits, index) : null },
      })
      continue
    }
    const index = spec.encrypted?.indexColumn ? keys?.index.get(spec.field) : undefined
    const encrypted = spec.encrypted ? { index: spec.encrypted.indexColumn && index ? lookupOf(spec.encrypted.indexColumn, spec.encrypted.bits, index) : null } : undefined
    filterFields.set(spec.field, { name: spec.field, type: spec.type, column: spec.column, ...(encrypted ? { encrypted } : {}) })
  }
  filterFields.set('created_at', { name: 'created_at', type: 'datetime', column: 'created_at' })
  filterFields.set('updated_at', { name: 'updated_at', type: 'datetime', column: 'updated_at' })
  const aad = (field: string, key: string) => fieldAad(spaceId, model.name, field, key)
  const needKeys = (): TableKeys => {
    if (!keys) throw new AppError('unavailable', `model '${model.name}' has encrypted fields and this server holds no field keys`)
    return keys
  }

  function decryptText(row: Record<string, unknown>, field: string, column = field): string | null {
    const stored = row[column]
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

  /** The value a converting field's row holds, as the plain column's driver value (what `open` shows). */
  function convertingValue(row: Record<string, unknown>, spec: ColumnSpec): unknown {
    const conv = spec.converting!
    const text = decryptText(row, spec.field, conv.cipher)
    return text !== null ? columnValue(spec.type, text) : (row[conv.plain] ?? null)
  }

  /** The value as the write path's validator gives it (valueText of its JSON form): what seal encrypts and indexes. */
  function canonicalOf(spec: ColumnSpec, value: unknown): string | null {
    if (value === null || value === undefined) return null
    const json = decodeRow({ fields: { [spec.field]: { type: spec.type } } }, { [spec.field]: value })[spec.field]
    return canonicalText(spec.type, valueText(spec.type, json, spec.field))
  }

  /** The columns of a converting field's new form for a value (validated text, or null). */
  function sealConverting(spec: ColumnSpec, canonical: string | null, key: string): StoredColumn[] {
    const conv = spec.converting!
    if (conv.to === 'plain') return [{ column: conv.shadow, sqlType: SQL_TYPES[spec.type], value: canonical, internal: true }]
    const { data, index } = needKeys()
    const out: StoredColumn[] = [{ column: conv.shadow, sqlType: 'bytea', value: canonical === null ? null : encryptValue(data.key, Buffer.from(canonical, 'utf8'), aad(spec.field, key), data.version), internal: true }]
    if (conv.indexColumn) out.push({ column: conv.indexColumn, sqlType: 'bytea', value: canonical === null ? null : blindIndex(index.get(spec.field)!.current.key, canonical, conv.bits), internal: true })
    return out
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
        if (spec.converting) {
          // The new form only: the guard clears the old one in the same row update.
          out.push(...sealConverting(spec, value === null || value === undefined ? null : canonicalText(spec.type, String(value)), key))
          continue
        }
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
        if (spec.converting) {
          const value = wanted.has(spec.field) ? convertingValue(row, spec) : undefined
          delete row[spec.converting.shadow]
          if (value === undefined) delete row[spec.field]
          else row[spec.field] = value
          continue
        }
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

    exactText(row, field) {
      const conv = columns.get(field)?.converting
      if (!conv) return decryptText(row, field)
      const text = decryptText(row, field, conv.cipher)
      // The plain form (or no value at all): the SQL half compared it exactly.
      return text === null ? undefined : text
    },

    convert(row, field) {
      const spec = columns.get(field)!
      const conv = spec.converting!
      const key = String(row[model.primaryKey])
      if (conv.to === 'encrypted') {
        const plain = row[conv.plain]
        return plain === null || plain === undefined ? null : sealConverting(spec, canonicalOf(spec, plain), key)
      }
      if (row[conv.cipher] === null || row[conv.cipher] === undefined) return null
      return sealConverting(spec, decryptText(row, field, conv.cipher), key)
    },
  }
}

/** Resolves a model's table for a call: its database, and the field keys its encrypted fields need. */
export function createTableResolver(deps: { db: Db; keys?: FieldKeys }) {
  return {
    async resolve(spaceId: string, model: Model): Promise<ResolvedTable> {
      // A converting field needs the keys of its encrypted form, whichever way it goes.
      const encrypted = Object.entries(model.fields)
        .filter(([, field]) => field.encrypted || field.converting)
        .map(([name, field]) => [name, field.converting && !field.encrypted ? { ...field, ...field.converting.to } : field] as const)
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
