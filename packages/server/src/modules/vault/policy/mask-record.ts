import type { Model } from '../models/model-types.js'
import type { Mask, ModelRule } from '../policies/vault-policy-types.js'
import { isReadable } from './resolve-readable-fields.js'

/**
 * One value as a mask shows it: `full` hides all of it, `last4` keeps the last four characters,
 * `email` the first character and the domain (an address without '@' is hidden in full). Missing
 * values stay missing: a mask hides a value, not whether there is one. Non-strings are masked as
 * their JSON text.
 */
export function maskValue(value: unknown, how: Mask): unknown {
  if (value === null || value === undefined) return value
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  if (how === 'full') return '****'
  if (how === 'last4') return `****${text.slice(-4)}`
  const at = text.indexOf('@')
  return at > 0 ? `${text[0]}***${text.slice(at)}` : '****'
}

/**
 * The model fields a client is shown of a record, in model order: the readable ones (narrowed by
 * `only`) and the key. The only fields worth decrypting for it: an encrypted field outside them is
 * never decrypted for this caller.
 */
export function shownFields(model: Pick<Model, 'fields' | 'primaryKey'>, rule: Pick<ModelRule, 'readable'>, only?: readonly string[]): string[] {
  return Object.keys(model.fields).filter((name) => name === model.primaryKey || (isReadable(rule, name) && (!only || only.includes(name))))
}

/**
 * A record (already decrypted and in its JSON form) as this client may see it: readable fields
 * only, absent rather than null when hidden (as `last_name` is in reference 004), masked where the
 * rule says, the primary key always, created_at/updated_at always unmasked. `only` (a find's
 * `options.fields`) narrows further but never drops the primary key. Fields in model order.
 */
export function maskRecord(model: Pick<Model, 'fields' | 'primaryKey'>, rule: Pick<ModelRule, 'readable' | 'masked'>, record: Record<string, unknown>, only?: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const name of shownFields(model, rule, only)) {
    const how = rule.masked && Object.hasOwn(rule.masked, name) ? rule.masked[name] : undefined
    out[name] = how ? maskValue(record[name], how) : record[name]
  }
  for (const name of ['created_at', 'updated_at'] as const) {
    if (only && !only.includes(name)) continue
    out[name] = record[name]
  }
  return out
}
