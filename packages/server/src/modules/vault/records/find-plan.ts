import type { SqlFragment } from '../../../db/sql-fragment.js'
import { AppError } from '../../../http/errors.js'
import { compileFilter, compileSort, type ExactCheck } from '../find/filter-compiler.js'
import type { Model } from '../models/model-types.js'
import type { ModelRule } from '../policies/vault-policy-types.js'
import { buildRowScope } from '../policy/build-row-scope.js'
import { resolveFilterableFields } from '../policy/resolve-filterable-fields.js'
import { resolveReadableFields } from '../policy/resolve-readable-fields.js'
import type { ResolvedTable } from './resolved-table.js'

export interface FindInput {
  filter?: Record<string, unknown>
  options?: { limit?: number; offset?: number; sort?: unknown; fields?: string[] }
}

/** A find before any ACL: its conditions (filter and row scope), its order and its projection. */
export interface FindPlan {
  where: SqlFragment[]
  orderBy: string
  only: string[] | undefined
  /** Checks after decryption on encrypted fields the filter compares by value (empty when none). */
  checks: ExactCheck[]
}

/**
 * The find's body against the client's rule: `options.fields` may name only readable fields, the
 * filter and the sort only filterable ones (each refusal a 400 that says which and why), the
 * rule's row scope is ANDed in, and the primary key breaks ties so pages never overlap.
 */
export function planFind(table: ResolvedTable, model: Model, rule: ModelRule, input: FindInput): FindPlan {
  const readable = resolveReadableFields(model, rule)
  const filterable = resolveFilterableFields(model, rule)
  const fields = table.filterFields
  const only = input.options?.fields
  for (const [index, field] of (only ?? []).entries()) {
    if (!fields.has(field)) throw new AppError('validation_failed', `options.fields.${index}: model '${model.name}' has no field '${field}'`)
    if (!readable(field)) throw new AppError('validation_failed', `options.fields.${index}: you cannot read field '${field}'`)
  }
  const filter = compileFilter(input.filter ?? {}, { fields, readable: filterable, firstParam: 1 })
  const sort = compileSort(input.options?.sort, { fields, readable: filterable })
  const orderBy = `${sort || ' ORDER BY'}${sort ? ',' : ''} "${table.primaryKey.column}"`
  const where = [{ sql: filter.sql, params: filter.params }, buildRowScope(fields, rule)].filter((condition): condition is SqlFragment => condition !== null)
  return { where, orderBy, only, checks: filter.checks ?? [] }
}
