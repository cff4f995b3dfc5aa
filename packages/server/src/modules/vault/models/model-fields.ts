import type { FieldSpec } from '../find/filter-types.js'
import type { Model } from './model-types.js'

/** Every field a filter or sort may name: the model's fields and created_at/updated_at. */
export function fieldSpecs(model: Pick<Model, 'fields'>): Map<string, FieldSpec> {
  const specs = new Map<string, FieldSpec>()
  // An encrypted field compares by value only through its blind index, which needs its keys: here
  // (a policy's row filter, checked when saved) it allows null and $exists only.
  // A converting field allows what an encrypted one does here (null and $exists), so a policy saved
  // meanwhile stays valid once the field ends up encrypted.
  for (const [name, field] of Object.entries(model.fields)) specs.set(name, { name, type: field.type, column: name, ...(field.encrypted || field.converting ? { encrypted: { index: null } } : {}) })
  specs.set('created_at', { name: 'created_at', type: 'datetime', column: 'created_at' })
  specs.set('updated_at', { name: 'updated_at', type: 'datetime', column: 'updated_at' })
  return specs
}
