import type { Model } from '../models/model-types.js'
import type { ModelRule } from '../policies/vault-policy-types.js'

/** Whether the rule's `readable` list names the field; no list means every field. */
export const isReadable = (rule: Pick<ModelRule, 'readable'>, field: string): boolean => !rule.readable || rule.readable.includes(field)

/**
 * Which fields a client may see in an answer and name in `options.fields`: the primary key and
 * created_at/updated_at always (a record that cannot be addressed is of no use, and the times are
 * the vault's, not the client's data), and the model's fields the rule lists as readable (all of
 * them when it lists none). Decides by name only: whether the name is a field is the caller's check.
 */
export function resolveReadableFields(model: Pick<Model, 'primaryKey'>, rule: Pick<ModelRule, 'readable'>): (field: string) => boolean {
  return (field) => field === model.primaryKey || field === 'created_at' || field === 'updated_at' || isReadable(rule, field)
}
