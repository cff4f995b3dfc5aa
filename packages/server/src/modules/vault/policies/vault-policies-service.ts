import type { Db, Queryable } from '../../../db/db.js'
import { constraintMessage } from '../../../db/db-errors.js'
import { notFound } from '../../../http/errors.js'
import { newId } from '../../../lib/ids.js'
import { assertOutboundUrl, redactUrl, type OutboundPolicy } from '../../../lib/outbound/index.js'
import type { AuditService } from '../../audit/audit-service.js'
import type { Principal } from '../../auth/auth-types.js'
import type { ChangeFeed } from '../../../db/change-feed.js'
import { vaultTopic } from '../control-cache.js'
import type { ModelsStore } from '../models/models-store.js'
import type { Model } from '../models/model-types.js'
import { checkPolicyRules } from './check-policy-rules.js'
import type { VaultPoliciesStore } from './vault-policies-store.js'
import type { ModelRule, VaultPolicy } from './vault-policy-types.js'

/** The rules as the audit log records them: an external ACL's URL without its query string or userinfo. */
function auditedRules(rules: Record<string, ModelRule>): Record<string, ModelRule> {
  const entries = Object.entries(rules).map(([model, rule]) => [model, rule.acl.source === 'external' ? { ...rule, acl: { ...rule.acl, url: redactUrl(rule.acl.url) } } : rule])
  return Object.fromEntries(entries) as Record<string, ModelRule>
}

/**
 * The data plane reads policies through the control-plane cache: an edit or a deletion takes effect at
 * once on this node and within the change feed's bound on the others.
 */
export function createVaultPoliciesService({
  db,
  store,
  audit,
  models,
  outboundPolicy,
  changes,
}: {
  db: Db
  store: VaultPoliciesStore
  audit: Pick<AuditService, 'append'>
  models: Pick<ModelsStore, 'get' | 'list'>
  outboundPolicy: OutboundPolicy
  /** A policy changed or deleted reaches every node's control-plane cache (control-cache.ts). */
  changes: Pick<ChangeFeed, 'touch' | 'announce'>
}) {
  /**
   * The models the rules name, locked (FOR UPDATE) until the policy commits: a concurrent model
   * change that drops a field waits for this policy, then sees it among those naming the field.
   */
  async function currentModels(tx: Queryable, spaceId: string, rules: Record<string, ModelRule>): Promise<Map<string, Model>> {
    const found = new Map<string, Model>()
    for (const name of Object.keys(rules)) {
      const model = await models.get(tx, spaceId, name, true)
      if (model) found.set(name, model)
    }
    if (found.size < Object.keys(rules).length) for (const model of await models.list(tx, spaceId)) if (!found.has(model.name)) found.set(model.name, model) // for the "did you mean" hint
    return found
  }

  async function save(by: Principal, id: string, name: string, rules: Record<string, ModelRule>, event: string): Promise<VaultPolicy> {
    // Checked again on every call, on the resolved address; this catches the obvious at once.
    for (const [model, rule] of Object.entries(rules)) {
      if (rule.acl.source === 'external') assertOutboundUrl(rule.acl.url, outboundPolicy, `rules.${model}.acl.url`)
    }
    try {
      const policy = await db.transaction(async (tx) => {
        checkPolicyRules(rules, await currentModels(tx, by.spaceId, rules))
        const policy = await store.upsert(tx, by.spaceId, id, name, rules)
        await audit.append(tx, by.spaceId, { event, actor: by.actor, resources: [{ kind: 'vault_policy', id }], meta: { name, rules: auditedRules(rules) } })
        await changes.touch(tx, vaultTopic(by.spaceId))
        return policy
      })
      changes.announce(vaultTopic(by.spaceId))
      return policy
    } catch (error) {
      throw constraintMessage(error, { unique: `a vault access policy named '${name}' already exists` })
    }
  }

  return {
    get: async (spaceId: string, id: string) => (await store.get(db, spaceId, id)) ?? Promise.reject(notFound('vault access policy', id)),
    list: (spaceId: string) => store.list(db, spaceId),
    create: (by: Principal, input: { name: string; rules: Record<string, ModelRule> }) => save(by, newId('vap'), input.name, input.rules, 'vault/policy_create'),
    async replace(by: Principal, id: string, input: { name: string; rules: Record<string, ModelRule> }) {
      if (!(await store.get(db, by.spaceId, id))) throw notFound('vault access policy', id)
      return save(by, id, input.name, input.rules, 'vault/policy_update')
    },
    async delete(by: Principal, id: string): Promise<void> {
      try {
        await db.transaction(async (tx) => {
          if (!(await store.delete(tx, by.spaceId, id))) throw notFound('vault access policy', id)
          await audit.append(tx, by.spaceId, { event: 'vault/policy_delete', actor: by.actor, resources: [{ kind: 'vault_policy', id }] })
          await changes.touch(tx, vaultTopic(by.spaceId))
        })
        changes.announce(vaultTopic(by.spaceId))
      } catch (error) {
        throw constraintMessage(error, { foreignKey: `vault access policy ${id} is still bound to vault clients; delete them first` })
      }
    },
  }
}

export type VaultPoliciesService = ReturnType<typeof createVaultPoliciesService>
