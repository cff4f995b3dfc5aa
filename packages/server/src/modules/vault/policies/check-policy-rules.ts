import { AppError } from '../../../http/errors.js'
import { closest } from '../../../lib/did-you-mean.js'
import { compileFilter } from '../find/filter-compiler.js'
import { isPlainObject } from '../find/filter-values.js'
import { fieldSpecs } from '../models/model-fields.js'
import { SYSTEM_FIELDS, type Model } from '../models/model-types.js'
import type { ModelRule } from './vault-policy-types.js'

/*
 * Save-time checks of an access policy against the space's models as they are now. A rule that
 * names a model or field that does not exist would otherwise be saved and then silently match
 * nothing (a `readable: ['frist_name']` hides the field it meant to show; a grants ACL on a field
 * the model lacks refuses every call), so it is a 400 that names it, with a "did you mean" hint.
 */

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { issues: [{ path, message }] })

/** `; did you mean 'first_name'?` when one name is close (a typo, a transposition), else ''. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const best = closest(name, [...known])
  return best ? `; did you mean '${best}'?` : ''
}

const SYSTEM: readonly string[] = SYSTEM_FIELDS

/** Checks one rule against its model; throws the first problem as a 400 whose path is under `rules.<model>`. */
export function checkRule(model: Model, rule: ModelRule, path: string): void {
  const fields = Object.keys(model.fields)
  const has = (name: string) => Object.hasOwn(model.fields, name)
  const unknown = (at: string, name: string, known: readonly string[]) => invalid(at, `model '${model.name}' has no field '${name}'${didYouMean(name, known)}`)

  // Reading and filtering may name created_at/updated_at; writing and masking only the model's own fields.
  for (const list of ['readable', 'filterable'] as const) {
    rule[list]?.forEach((name, index) => {
      if (!has(name) && !SYSTEM.includes(name)) throw unknown(`${path}.${list}.${index}`, name, [...fields, ...SYSTEM])
    })
  }
  rule.writable?.forEach((name, index) => {
    if (!has(name)) throw unknown(`${path}.writable.${index}`, name, fields)
  })
  for (const name of Object.keys(rule.masked ?? {})) {
    if (!has(name)) throw unknown(`${path}.masked.${name}`, name, fields)
  }
  if (rule.acl.source === 'grants' && !has(rule.acl.field)) throw unknown(`${path}.acl.field`, rule.acl.field, fields)
  if (rule.acl.source === 'grants' && model.fields[rule.acl.field]!.encrypted) {
    throw invalid(`${path}.acl.field`, `field '${rule.acl.field}' is encrypted: the grants ACL matches its values in SQL, so it needs a plain field`)
  }
  if (rule.rowFilter !== undefined) {
    try {
      compileFilter(rule.rowFilter, { fields: fieldSpecs(model), readable: () => true, firstParam: 1 })
    } catch (error) {
      // The compiler's own message, with its path moved from the find body's `filter` to this rule.
      if (error instanceof AppError && error.code === 'validation_failed') {
        const message = error.message.replace(/^filter/, `${path}.rowFilter`)
        const at = message.slice(0, message.indexOf(': '))
        throw invalid(at, message.slice(at.length + 2))
      }
      throw error
    }
  }
}

/**
 * Every rule of a policy against the models it names (`models`: those that exist, by name). The
 * first problem is the 400; its message names the model or field and where it is in the body.
 */
export function checkPolicyRules(rules: Record<string, ModelRule>, models: ReadonlyMap<string, Model>): void {
  for (const [name, rule] of Object.entries(rules)) {
    const model = models.get(name)
    if (!model) throw invalid(`body.rules.${name}`, `model '${name}' does not exist${didYouMean(name, models.keys())}; create it first`)
    checkRule(model, rule, `body.rules.${name}`)
  }
}

/** The field names a filter mentions, at any depth of $and / $or: what a dropped field would break. */
export function filterFields(node: unknown, into = new Set<string>()): Set<string> {
  if (!isPlainObject(node)) return into
  for (const [key, value] of Object.entries(node)) {
    if (key === '$and' || key === '$or') {
      if (Array.isArray(value)) value.forEach((item: unknown) => filterFields(item, into))
    } else if (!key.startsWith('$')) into.add(key)
  }
  return into
}

/** Where a rule names `field`: the lists, the mask, the row filter, the grants ACL. */
export function ruleMentions(rule: ModelRule, field: string): string[] {
  const places: string[] = []
  for (const list of ['readable', 'filterable', 'writable'] as const) if (rule[list]?.includes(field)) places.push(list)
  if (rule.masked && Object.hasOwn(rule.masked, field)) places.push('masked')
  if (rule.rowFilter && filterFields(rule.rowFilter).has(field)) places.push('rowFilter')
  if (rule.acl.source === 'grants' && rule.acl.field === field) places.push('acl.field')
  return places
}
