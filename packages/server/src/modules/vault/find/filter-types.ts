/**
 * The vault's filter language (the body of `POST …/find`, after InCountry's REST API): the types the
 * records routes hand to the compilers, and the language's bounds. See docs/vault-filters.md.
 */

export type { FieldType } from '../models/model-types.js'
import type { FieldType } from '../models/model-types.js'

export interface FieldSpec {
  name: string
  type: FieldType
  /** The SQL column, already validated as ^[a-z][a-z0-9_]{0,62}$; still emitted only through quoteIdent(). */
  column: string
  /**
   * An encrypted field: `column` holds ciphertext (so only null and $exists compare it directly).
   * With `index`, $eq/$in/$ne/$nin look up its blind index under every searchable key version, and
   * the rows found are checked exactly after decryption (CompiledFilter.checks).
   */
  encrypted?: { index: BlindIndexSpec | null }
  /**
   * A field a job (`job`) is converting: a row holds its value in `plain` or, encrypted, in `cipher`
   * (never both). Filters compare it as its encrypted form allows — $eq/$in/$ne/$nin through the
   * plain column OR the blind index with an exact check, null and $exists on both columns — and
   * refuse range, $like and sort until the job ends. `column` is then the plain column.
   */
  converting?: { job: string; to: 'encrypted' | 'plain'; plain: string; cipher: string; index: BlindIndexSpec | null }
}

export interface BlindIndexSpec {
  /** `_bi_<field>`: emitted only through quoteIndexColumn(). */
  column: string
  bits: number
  /** The value's blind index under each searchable key version (current first). */
  lookup: (canonical: string) => Buffer[]
}

/**
 * A comparison on an encrypted field the blind index can only narrow: after the query, each row's
 * decrypted value must be (`in`) or must not be (`nin`) one of `values` (canonical texts), a missing
 * value counting as listed when `withNull`.
 */
export interface ExactCheck {
  field: string
  op: 'in' | 'nin'
  values: string[]
  withNull: boolean
}

export interface FilterOptions {
  /** Every filterable field, including the primary key and created_at/updated_at (type 'datetime'). */
  fields: ReadonlyMap<string, FieldSpec>
  /** Filtering on a field the policy cannot read is refused: a hidden field must not become an oracle. */
  readable: (field: string) => boolean
  /** Placeholders start at $firstParam (the caller already has $1..$firstParam-1). */
  firstParam: number
  /** Nesting of $and / $or / $not; default DEFAULT_MAX_DEPTH. */
  maxDepth?: number
  /** Length of an $in / $nin list; default DEFAULT_MAX_IN. */
  maxIn?: number
}

export interface SortOptions {
  fields: ReadonlyMap<string, FieldSpec>
  readable: (field: string) => boolean
}

export interface CompiledFilter {
  /** A boolean SQL expression: an atom or parenthesised, so it can be spliced next to AND/OR/NOT. */
  sql: string
  /** Every value, as text, in placeholder order ($firstParam, $firstParam+1, …). */
  params: unknown[]
  /** Checks to make after decryption, all of which a row must pass (ANDed with the SQL); absent when none. */
  checks?: ExactCheck[]
}

export const DEFAULT_MAX_DEPTH = 6
export const DEFAULT_MAX_IN = 1000
/** Longest string value or $like pattern, in characters (code points). */
export const MAX_STRING_LENGTH = 10_000
/**
 * Field conditions plus $and/$or elements in one filter. The body limit already bounds a filter, but
 * a megabyte of `{"a":{"$exists":true}}` would still become megabytes of SQL for the planner.
 */
export const MAX_CONDITIONS = 1000
/** Bound values in one filter: PostgreSQL refuses a statement with more than 65,535 parameters. */
export const MAX_PARAMS = 10_000
export const MAX_SORT_ENTRIES = 5

export const COMPARISON_OPERATORS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$like', '$exists', '$not'] as const
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number]
export const LOGICAL_OPERATORS = ['$and', '$or'] as const
