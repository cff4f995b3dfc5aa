export const FIELD_TYPES = ['string', 'integer', 'decimal', 'boolean', 'date', 'datetime', 'json'] as const
export type FieldType = (typeof FIELD_TYPES)[number]

export interface FieldDefinition {
  type: FieldType
  /**
   * `true`: a plain column with a B-tree index (filters and sorts). `'equality'`: on an encrypted
   * field only, a blind index column for $eq/$in/$ne/$nin (docs/vault-encryption.md).
   */
  searchable?: boolean | 'equality'
  required?: boolean
  /** Stored as AES-256-GCM ciphertext, decrypted only for clients whose policy may read it. */
  encrypted?: boolean
  /** The rows this model is expected to hold, which sizes the blind index (default 1,000,000). */
  expectedRows?: number
  /** The blind index length in bits; set when the model is created (from expectedRows unless given), fixed after. */
  indexBits?: number
}

/** The types a field may be encrypted as (a boolean has two values: its ciphertext would hide nothing). */
export const ENCRYPTABLE_TYPES: readonly FieldType[] = ['string', 'integer', 'decimal', 'date', 'datetime', 'json']
/** The types an encrypted field may be equality-searchable as (a json value is compared only with null). */
export const EQUALITY_SEARCHABLE_TYPES: readonly FieldType[] = ['string', 'integer', 'decimal', 'date', 'datetime']
export const DEFAULT_EXPECTED_ROWS = 1_000_000
export const isEncrypted = (field: FieldDefinition): boolean => field.encrypted === true

export interface ModelDefinition {
  name: string
  primaryKey: string
  fields: Record<string, FieldDefinition>
}

export interface Model extends ModelDefinition {
  /** The table in the `vault` schema holding the records. */
  tableName: string
  createdAt: string
  updatedAt: string
}

/** Field and model names become SQL identifiers: only this shape, checked before any DDL. */
export const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/
export const SYSTEM_FIELDS = ['created_at', 'updated_at'] as const
export const MAX_FIELDS = 200

export const SQL_TYPES: Record<FieldType, string> = {
  string: 'text',
  integer: 'bigint',
  decimal: 'numeric',
  boolean: 'boolean',
  date: 'date',
  datetime: 'timestamptz',
  json: 'jsonb',
}
