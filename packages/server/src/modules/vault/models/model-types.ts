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
  /**
   * Set by the vault (never by a request) while a background job converts this field between plain
   * and encrypted (plan-model-change.ts `encrypt`/`decrypt`): the definition above is still the
   * stored form the job converts from; `to` is what the field becomes when job `job` ends.
   */
  converting?: FieldConversion
}

/** A field's conversion in progress: the job doing it and the field's options once it is done. */
export interface FieldConversion {
  job: string
  to: { encrypted: boolean; searchable?: boolean | 'equality'; expectedRows?: number; indexBits?: number }
}

/** The field as it will be once its conversion ends (itself when none runs). */
export function convertedField(field: FieldDefinition): FieldDefinition {
  if (!field.converting) return field
  const { converting, searchable: _searchable, encrypted: _encrypted, expectedRows: _rows, indexBits: _bits, ...rest } = field
  return { ...rest, ...Object.fromEntries(Object.entries(converting.to).filter(([key, value]) => value !== undefined && (key !== 'encrypted' || value === true))) }
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
