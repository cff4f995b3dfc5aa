import type { Db } from '../../db/db.js'
import { constraintMessage } from '../../db/db-errors.js'
import { notFound } from '../../http/errors.js'
import { newId } from '../../lib/ids.js'
import { assertOutboundUrl, redactUrl, type OutboundPolicy } from '../../lib/outbound/index.js'
import type { AuditService } from '../audit/audit-service.js'
import type { Principal } from '../auth/auth-types.js'
import type { Policy } from './approvals-types.js'
import type { PoliciesStore, PolicyFields } from './policies-store.js'

/** A delegate URL is checked before saving (and again on every call, on the resolved address). */
function checkDelegateUrl(fields: PolicyFields, policy: OutboundPolicy): void {
  if (fields.decision.type === 'delegate') assertOutboundUrl(fields.decision.url, policy, 'decision.url')
}

/** The policy as the audit log records it: a delegate URL without its query string or userinfo. */
const audited = (fields: PolicyFields): PolicyFields =>
  fields.decision.type === 'delegate' ? { ...fields, decision: { ...fields.decision, url: redactUrl(fields.decision.url) } } : fields

export function createPoliciesService({ db, store, audit, outboundPolicy }: { db: Db; store: PoliciesStore; audit: Pick<AuditService, 'append'>; outboundPolicy: OutboundPolicy }) {
  return {
    list: (spaceId: string) => store.list(db, spaceId),

    async get(spaceId: string, policyId: string): Promise<Policy> {
      return (await store.get(db, spaceId, policyId)) ?? Promise.reject(notFound('policy', policyId))
    },

    async create(by: Principal, fields: PolicyFields): Promise<Policy> {
      checkDelegateUrl(fields, outboundPolicy)
      try {
        return await db.transaction(async (tx) => {
          const policy = await store.insert(tx, by.spaceId, newId('pol'), fields)
          await audit.append(tx, by.spaceId, { event: 'policy/create', actor: by.actor, resources: [{ kind: 'policy', id: policy.id }], meta: { policy: audited(fields) } })
          return policy
        })
      } catch (error) {
        throw constraintMessage(error, { unique: `a policy named '${fields.name}' already exists` })
      }
    },

    /** Replaces the whole policy. Open petitions keep the rule they were made under. */
    async replace(by: Principal, policyId: string, fields: PolicyFields): Promise<Policy> {
      checkDelegateUrl(fields, outboundPolicy)
      try {
        return await db.transaction(async (tx) => {
          const policy = await store.replace(tx, by.spaceId, policyId, fields)
          if (!policy) throw notFound('policy', policyId)
          await audit.append(tx, by.spaceId, { event: 'policy/update', actor: by.actor, resources: [{ kind: 'policy', id: policyId }], meta: { policy: audited(fields) } })
          return policy
        })
      } catch (error) {
        throw constraintMessage(error, { unique: `a policy named '${fields.name}' already exists` })
      }
    },

    async delete(by: Principal, policyId: string): Promise<void> {
      await db.transaction(async (tx) => {
        if (!(await store.delete(tx, by.spaceId, policyId))) throw notFound('policy', policyId)
        await audit.append(tx, by.spaceId, { event: 'policy/delete', actor: by.actor, resources: [{ kind: 'policy', id: policyId }] })
      })
    },
  }
}

export type PoliciesService = ReturnType<typeof createPoliciesService>
