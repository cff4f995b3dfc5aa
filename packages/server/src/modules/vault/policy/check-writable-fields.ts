import { forbidden } from '../../../http/errors.js'
import type { Model } from '../models/model-types.js'
import type { ModelRule } from '../policies/vault-policy-types.js'

/** Whether the rule's `writable` list names the field; no list means every field. */
export const isWritable = (rule: Pick<ModelRule, 'writable'>, field: string): boolean => !rule.writable || rule.writable.includes(field)

/**
 * The fields of one write body the rule does not let this client write, in body order: all of
 * them are named in one 403, so a client fixes its body once rather than field by field. The
 * primary key is a field like any other here: a rule that omits it from `writable` cannot create.
 */
export function unwritableFields(rule: Pick<ModelRule, 'writable'>, names: Iterable<string>): string[] {
  return [...names].filter((name) => !isWritable(rule, name))
}

/** Throws the 403 naming every field of `names` the rule does not let this client write. */
export function checkWritableFields(model: Pick<Model, 'name'>, rule: Pick<ModelRule, 'writable'>, names: Iterable<string>): void {
  const refused = unwritableFields(rule, names)
  if (refused.length) throw forbidden(`your access policy does not let you write ${refused.map((name) => `'${name}'`).join(', ')} of model '${model.name}'`)
}
