import type { Queryable } from '../../../db/db.js'
import { AppError, forbidden } from '../../../http/errors.js'
import { activeGrantResourceIds, type ApprovalsStore } from '../../approvals/approvals-store.js'
import type { Principal } from '../../auth/auth-types.js'
import { ident } from '../models/model-ddl.js'
import type { Model } from '../models/model-types.js'
import type { Condition } from '../records/records-store.js'

export interface GrantsRule {
  source: 'grants'
  resourceKind: string
  field: string
}

export interface GrantUser {
  id: string
  email: string
}

export interface GrantsAclDeps {
  authenticate: (secret: string) => Promise<Principal>
  grants: Pick<ApprovalsStore, 'grantsCovering'>
  clock: () => Date
}

/**
 * The join: the `grants` ACL source opens exactly the rows whose `field` holds the id of a
 * resource of `resourceKind` on which the user in x-client-auth holds an active grant, matched on
 * their user id (a grant of a deleted user never opens rows to a later user with the same email).
 */
export function createGrantsAcl({ authenticate, grants, clock }: GrantsAclDeps) {
  return {
    /** The person behind x-client-auth: a user access token of this space, or a refusal that says what is wrong. */
    async user(spaceId: string, clientToken: string | null): Promise<GrantUser> {
      if (!clientToken) {
        throw new AppError('acl_client_auth_missing', "these records open only to a person with a grant: send 'x-client-auth: Bearer <their Gatehouse user access token>'")
      }
      let principal: Principal
      try {
        principal = await authenticate(clientToken)
      } catch (error) {
        if (error instanceof AppError) throw new AppError(error.code, `x-client-auth: ${error.message}`)
        throw error
      }
      if (principal.kind !== 'user') throw forbidden('x-client-auth: a service-account token opens no customer records; send the user access token of the person asking')
      if (principal.spaceId !== spaceId) throw forbidden("x-client-auth: this user access token belongs to another space than this vault client's")
      if (!principal.userId || !principal.email) throw forbidden('x-client-auth: this token acts as no user; send the user access token of the person asking')
      return { id: principal.userId, email: principal.email }
    },

    /** `field IN (active grant resource ids)`, for the same query as the read or write it guards. */
    condition(model: Model, rule: GrantsRule, spaceId: string, user: GrantUser): Condition {
      const field = Object.hasOwn(model.fields, rule.field) ? model.fields[rule.field] : undefined // 'constructor' is no field
      if (!field) throw new AppError('forbidden', `the access policy opens '${model.name}' by field '${rule.field}', which the model does not have`)
      const column = field.type === 'string' ? ident(rule.field) : `${ident(rule.field)}::text`
      const subquery = activeGrantResourceIds(spaceId, user.id, rule.resourceKind, clock())
      return { sql: `${column} IN (${subquery.sql})`, params: subquery.params }
    },

    /** The grants behind the rows touched: what the audit event names, so an auditor can find who approved it. */
    async grantsFor(db: Queryable, rule: GrantsRule, spaceId: string, user: GrantUser, resourceIds: string[]) {
      const found = await grants.grantsCovering(db, spaceId, user.id, rule.resourceKind, [...new Set(resourceIds)].slice(0, 100), clock())
      const seen = new Set<string>()
      return found.filter((grant) => !seen.has(grant.resource.id) && seen.add(grant.resource.id)).map((grant) => ({ grantId: grant.id, petitionId: grant.petitionId, resourceId: grant.resource.id, expiresAt: grant.expiresAt }))
    },
  }
}

export type GrantsAcl = ReturnType<typeof createGrantsAcl>
