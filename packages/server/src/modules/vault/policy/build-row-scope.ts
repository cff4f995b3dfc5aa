import type { SqlFragment } from '../../../db/sql-fragment.js'
import { compileFilter } from '../find/filter-compiler.js'
import type { FieldSpec } from '../find/filter-types.js'
import type { ModelRule } from '../policies/vault-policy-types.js'

/**
 * The rule's static row filter as a condition: rows outside it do not exist for this client, in
 * every call (get, patch, delete, find). It may name any field, readable or not: the admin wrote
 * it, not the client, so it reveals nothing the admin did not choose. Null when the rule has none.
 * `fields` are the resolved table's (so an encrypted column is compiled as its storage requires).
 */
export function buildRowScope(fields: ReadonlyMap<string, FieldSpec>, rule: Pick<ModelRule, 'rowFilter'>): SqlFragment | null {
  if (!rule.rowFilter) return null
  // A scope must be exact in SQL: an encrypted field's blind index only narrows, so here it has none
  // (null and $exists only), as when the policy was saved.
  const exact = new Map(
    [...fields].map(([name, spec]) => [name, spec.encrypted ? { ...spec, encrypted: { index: null } } : spec.converting ? { ...spec, converting: { ...spec.converting, index: null } } : spec]),
  )
  const { sql, params } = compileFilter(rule.rowFilter, { fields: exact, readable: () => true, firstParam: 1 })
  return { sql, params }
}
