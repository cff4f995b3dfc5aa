import type { Model } from '../models/model-types.js'
import type { ModelRule } from '../policies/vault-policy-types.js'
import { resolveReadableFields } from './resolve-readable-fields.js'

/**
 * Which fields a filter, a sort or a row scope may name: every readable field, and the fields the
 * rule made `filterable` on purpose though they are never returned (an oracle the admin accepts,
 * as reference 004 filters on `yearly_spending` without showing it). Anything else is refused by
 * the compiler with "you cannot filter on this field": a hidden field must not become an oracle.
 */
export function resolveFilterableFields(model: Pick<Model, 'primaryKey'>, rule: Pick<ModelRule, 'readable' | 'filterable'>): (field: string) => boolean {
  const readable = resolveReadableFields(model, rule)
  return (field) => readable(field) || Boolean(rule.filterable?.includes(field))
}
