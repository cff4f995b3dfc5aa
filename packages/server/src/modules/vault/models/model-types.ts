export const FIELD_TYPES = ['string', 'integer', 'decimal', 'boolean', 'date', 'datetime', 'json'] as const
export type FieldType = (typeof FIELD_TYPES)[number]

export interface FieldDefinition {
  type: FieldType
  searchable?: boolean
  required?: boolean
}

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
