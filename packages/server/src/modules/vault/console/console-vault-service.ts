import type { Db } from '../../../db/db.js'
import { AppError, notFound } from '../../../http/errors.js'
import type { AuditService } from '../../audit/audit-service.js'
import type { Principal } from '../../auth/auth-types.js'
import type { VaultClientsStore } from '../clients/vault-clients-store.js'
import type { ModelsStore } from '../models/models-store.js'
import type { VaultPoliciesStore } from '../policies/vault-policies-store.js'
import type { ModelRule, VaultPolicy } from '../policies/vault-policy-types.js'
import type { RecordsService } from '../records/records-service.js'
import type { VaultContext } from '../records/vault-context.js'
import type { ConsoleVaultStore } from './console-vault-store.js'

export interface ConsoleModel {
  name: string
  primaryKey: string
  /** The resource kind whose grants open rows, and the field holding its id. */
  resourceKind: string
  grantField: string
  /** Fields the policy lets the console read (and filter on), with their mask if any. */
  fields: Array<{ name: string; type: string; mask: string | null }>
}

/**
 * Only models whose rule opens rows by grants are shown in the console: through any other rule
 * (`none`, `external`) every signed-in person would read whatever the console's client may, which
 * is not least privilege. Fail closed: such a model is refused, with the reason.
 */
export function consoleRuleProblem(name: string, rule: ModelRule | undefined): string | null {
  if (!rule) return `model '${name}' is not in the console's vault access policy`
  if (rule.acl.source !== 'grants') {
    return `model '${name}' is opened by the '${rule.acl.source}' ACL source in the console's access policy; the console shows only models whose rows open by grants (acl.source 'grants')`
  }
  if (!rule.actions.includes('read')) return `the console's access policy does not allow 'read' on model '${name}'`
  return null
}

export function createConsoleVaultService(deps: {
  db: Db
  store: ConsoleVaultStore
  clients: Pick<VaultClientsStore, 'list'>
  policies: Pick<VaultPoliciesStore, 'get'>
  models: Pick<ModelsStore, 'get'>
  records: Pick<RecordsService, 'find'>
  audit: Pick<AuditService, 'append'>
}) {
  const { db, store } = deps

  async function designatedClient(spaceId: string) {
    const rowId = await store.designated(db, spaceId)
    if (!rowId) return null
    const client = (await deps.clients.list(db, spaceId)).find((candidate) => candidate.id === rowId)
    if (!client) return null
    const policy = await deps.policies.get(db, spaceId, client.policyId)
    return policy ? { client, policy } : null
  }

  async function modelsOf(spaceId: string, policy: VaultPolicy): Promise<ConsoleModel[]> {
    const models: ConsoleModel[] = []
    for (const [name, rule] of Object.entries(policy.rules).sort(([a], [b]) => a.localeCompare(b))) {
      if (consoleRuleProblem(name, rule) || rule.acl.source !== 'grants') continue
      const model = await deps.models.get(db, spaceId, name)
      if (!model) continue
      const readable = rule.readable ? new Set(rule.readable) : null
      const fields = Object.entries(model.fields)
        .filter(([field]) => !readable || readable.has(field))
        .map(([field, definition]) => ({ name: field, type: definition.type, mask: rule.masked?.[field] ?? null }))
      models.push({ name, primaryKey: model.primaryKey, resourceKind: rule.acl.resourceKind, grantField: rule.acl.field, fields })
    }
    return models
  }

  return {
    /** What the explorer may show: the designated client (never its secret) and its grant-opened models. */
    async status(spaceId: string) {
      const found = await designatedClient(spaceId)
      if (!found) return { client: null, models: [] }
      const { client, policy } = found
      return { client: { id: client.id, clientId: client.clientId, name: client.name, policyId: client.policyId }, models: await modelsOf(spaceId, policy) }
    },

    /** An admin names the vault client the console reads through (null: none; the explorer then says so). */
    async designate(by: Principal, clientRowId: string | null) {
      if (clientRowId !== null && !(await deps.clients.list(db, by.spaceId)).some((client) => client.id === clientRowId)) throw notFound('vault client', clientRowId)
      await db.transaction(async (tx) => {
        if (clientRowId === null) await store.clear(tx, by.spaceId)
        else await store.designate(tx, by.spaceId, clientRowId)
        await deps.audit.append(tx, by.spaceId, {
          event: 'vault/console_client',
          actor: by.actor,
          resources: clientRowId ? [{ kind: 'vault_client', id: clientRowId }] : [],
          meta: { clientId: clientRowId },
        })
      })
      return this.status(by.spaceId)
    },

    /**
     * The data plane's own find (records service: filter, field policy, grants join, audit), as the
     * designated client, with the caller's user token as x-client-auth; each row with its grant.
     */
    async find(by: Principal, callerToken: string, name: string, input: Parameters<RecordsService['find']>[2]) {
      const found = await designatedClient(by.spaceId)
      if (!found) {
        throw new AppError('forbidden', 'no vault client is designated for the console in this space: an admin designates one (PUT /v1/spaces/{space}/vault/console)')
      }
      const rule = Object.hasOwn(found.policy.rules, name) ? found.policy.rules[name] : undefined
      const problem = consoleRuleProblem(name, rule)
      if (problem) throw rule ? new AppError('forbidden', problem) : notFound('model', name)
      const context: VaultContext = {
        spaceId: by.spaceId,
        actor: { kind: 'vault_client', id: found.client.clientId, display: found.client.name },
        policy: found.policy,
        clientToken: callerToken,
      }
      const result = await deps.records.find(context, name, input)
      return { data: result.data.map((record, index) => ({ record, grant: result.rowGrants[index] ?? null })), meta: result.meta }
    },
  }
}

export type ConsoleVaultService = ReturnType<typeof createConsoleVaultService>
