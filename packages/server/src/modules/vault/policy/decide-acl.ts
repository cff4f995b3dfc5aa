import { AppError, notFound } from '../../../http/errors.js'
import type { AclAction, AclCall } from '../acl/external-acl.js'
import type { Model } from '../models/model-types.js'
import type { ModelRule } from '../policies/vault-policy-types.js'

/**
 * What the rule's ACL source means for one call on some record ids:
 * - `none`: every id the policy reaches is allowed; nothing to ask.
 * - `grants`: every id is allowed here, because the grants condition is part of the call's own
 *   query (see acl/grants-acl.ts): a row without a grant is simply not found.
 * - `external`: the application's filter endpoint must be asked about these ids, with the
 *   caller's x-client-auth token; no token is a refusal (fail closed), and no ids means nothing to
 *   ask (and nothing allowed).
 */
export type AclDecision = { kind: 'allow'; ids: Set<string>; outcome: string } | { kind: 'ask'; call: AclCall }

export function decideAcl(model: Pick<Model, 'name' | 'primaryKey'>, rule: Pick<ModelRule, 'acl'>, action: AclAction, clientToken: string | null, ids: readonly string[]): AclDecision {
  const acl = rule.acl
  if (acl.source === 'none') return { kind: 'allow', ids: new Set(ids), outcome: 'none' }
  if (acl.source === 'grants') return { kind: 'allow', ids: new Set(ids), outcome: 'grants' }
  if (!clientToken) {
    throw new AppError('acl_client_auth_missing', `model '${model.name}' is guarded by your application's ACL: send 'x-client-auth: Bearer <your user token>'`)
  }
  if (ids.length === 0) return { kind: 'allow', ids: new Set(), outcome: 'external: nothing to ask' }
  return { kind: 'ask', call: { url: acl.url, timeoutMs: acl.timeoutMs ?? 2000, clientToken, action, model: model.name, primaryKey: model.primaryKey, ids: [...ids] } }
}

/** The endpoint's answer as the audit event records it. */
export const askedOutcome = (call: Pick<AclCall, 'ids'>, allowed: ReadonlySet<string>): string => `external: ${allowed.size} of ${call.ids.length} allowed`

/**
 * The refusal when the ACL does not allow the one record a call names: a record you may not read
 * does not exist for you (404, the same as a missing one); a write or delete it refuses is a 403.
 */
export function aclRefusal(action: AclAction, model: string, id: string): AppError {
  if (action === 'read') return notFound('record', id)
  return new AppError('forbidden', `your application's ACL does not allow ${action} on ${model} '${id}'`)
}
