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
