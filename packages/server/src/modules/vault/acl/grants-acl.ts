import type { Queryable } from '../../../db/db.js'
import type { SqlFragment } from '../../../db/sql-fragment.js'
import { AppError, forbidden } from '../../../http/errors.js'
import type { GrantLookup } from '../../approvals/approvals-types.js'
import type { Principal } from '../../auth/auth-types.js'
import { ident } from '../models/model-ddl.js'
import type { PageGrants } from '../records/records-store.js'
import type { ResolvedTable } from '../records/resolved-table.js'

export interface GrantsRule {
  source: 'grants'
  resourceKind: string
  field: string
}

export interface GrantUser {
  id: string
  email: string
}

/** For one call under a `grants` rule: who is asking, and the condition that opens their customers' rows. */
export interface GrantsPlan {
  rule: GrantsRule
  user: GrantUser
  condition: SqlFragment
  /** The instant `condition` checks grants at: what a statement names as the grants behind its rows is read at the same one. */
  now: Date
}

export interface GrantsAclDeps {
  authenticate: (secret: string) => Promise<Principal>
  grants: GrantLookup
  clock: () => Date
}

/** How many customers (and grants behind them) one audit event names at most. */
const NOTED_RESOURCES = 100

/** The grants behind some rows, as an audit event names them. */
export interface GrantNote {
  grantId: string
  petitionId: string
  resourceId: string
  expiresAt: string
}

/**
 * The join: the `grants` ACL source opens exactly the rows whose `field` holds the id of a
 * resource of `resourceKind` on which the user in x-client-auth holds an active grant, matched on
 * their user id (a grant of a deleted user never opens rows to a later user with the same email).
 * The condition comes from the approvals module (GrantLookup) and runs inside the call's own
 * query: exact at the instant of the query, with no extra round trip.
 */
export function createGrantsAcl({ authenticate, grants, clock }: GrantsAclDeps) {
  /** The person behind x-client-auth: a user access token of this space, or a refusal that says what is wrong. */
  async function user(spaceId: string, clientToken: string | null): Promise<GrantUser> {
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
  }

  /** `field IN (active grant resource ids)`, for the same query as the read or write it guards. */
  function condition(table: ResolvedTable, rule: GrantsRule, spaceId: string, person: GrantUser, now: Date): SqlFragment {
    const column = table.columns.get(rule.field) // a Map: 'constructor' is no field
    if (!column) throw new AppError('forbidden', `the access policy opens '${table.model}' by field '${rule.field}', which the model does not have`)
    if (column.encrypted) throw new AppError('forbidden', `the access policy opens '${table.model}' by field '${rule.field}', which is encrypted: a grants field must be a plain one`)
    // Fail closed: the subquery is valid only in a statement on the grants' own database.
    if (table.db !== grants.database) throw new AppError('forbidden', `model '${table.model}' is stored apart from the space's grants, so the 'grants' ACL source cannot open it`)
    const left = column.type === 'string' ? ident(column.column) : `${ident(column.column)}::text`
    const subquery = grants.activeResourceIds({ spaceId, userId: person.id, resourceKind: rule.resourceKind, now })
    return { sql: `${left} IN (${subquery.sql})`, params: subquery.params }
  }

  /** The grants behind the rows touched: what the audit event names, so an auditor can find who approved it. */
  async function grantsFor(db: Queryable, rule: GrantsRule, spaceId: string, person: GrantUser, resourceIds: string[]): Promise<GrantNote[]> {
    const found = await grants.grantsCovering(db, spaceId, person.id, rule.resourceKind, [...new Set(resourceIds)].slice(0, NOTED_RESOURCES), clock())
    const seen = new Set<string>()
    return found.filter((grant) => !seen.has(grant.resource.id) && seen.add(grant.resource.id)).map((grant) => ({ grantId: grant.id, petitionId: grant.petitionId, resourceId: grant.resource.id, expiresAt: grant.expiresAt }))
  }

  return {
    user,
    condition,
    grantsFor,

    /** For a rule whose source is `grants`: the person and the condition; null for any other source. */
    async plan(spaceId: string, clientToken: string | null, table: ResolvedTable, rule: { acl: { source: string } }): Promise<GrantsPlan | null> {
      if (rule.acl.source !== 'grants') return null
      const grantsRule = rule.acl as GrantsRule
      const person = await user(spaceId, clientToken)
      const now = clock()
      return { rule: grantsRule, user: person, condition: condition(table, grantsRule, spaceId, person, now), now }
    },

    /**
     * `note` for a read whose statement names the grants itself (a find: its page, the grants
     * behind its rows and its audit event in one statement, at one instant): the event's meta
     * about the person, and how the statement finds the grant behind each customer — the same
     * grant `note` would name, read at the instant the plan's condition opened the rows.
     */
    pageNote(spaceId: string, plan: GrantsPlan): { meta: { acl: 'grants'; clientUser: GrantUser }; grants: PageGrants } {
      const { rule, user: person, now } = plan
      return {
        meta: { acl: 'grants', clientUser: { id: person.id, email: person.email } },
        grants: {
          field: rule.field,
          resourceKind: rule.resourceKind,
          maxResources: NOTED_RESOURCES,
          notes(resourceIds) {
            const covering = grants.coveringGrants({ spaceId, userId: person.id, resourceKind: rule.resourceKind, now }, resourceIds)
            return {
              sql: `SELECT g.resource_id, jsonb_build_object('grantId', g.grant_id, 'petitionId', g.petition_id, 'resourceId', g.resource_id, 'expiresAt', g.expires_at) AS note
                FROM (${covering.sql}) AS g`,
              params: covering.params,
            }
          },
        },
      }
    },

    /** A write may put a row only under a customer the person holds a grant on. */
    async assertGranted(tx: Queryable, spaceId: string, plan: GrantsPlan, values: Map<string, unknown>[]): Promise<void> {
      const wanted = values.map((row) => String(row.get(plan.rule.field) ?? ''))
      const held = new Set((await grantsFor(tx, plan.rule, spaceId, plan.user, wanted)).map((grant) => grant.resourceId))
      const missing = wanted.find((id) => !held.has(id))
      if (missing !== undefined) {
        throw new AppError('forbidden', `you hold no active grant on ${plan.rule.resourceKind} '${missing}': ask for access to it first`)
      }
    },

    /** The grants behind the rows touched, and those customers as audit resources; nothing without a plan. */
    async note(tx: Queryable, spaceId: string, plan: GrantsPlan | null, rows: Record<string, unknown>[]): Promise<{ acl?: string; clientUser?: GrantUser; grants?: GrantNote[]; customers?: string[] }> {
      if (!plan) return {}
      const customers = rows.map((row) => String(row[plan.rule.field]))
      const found = await grantsFor(tx, plan.rule, spaceId, plan.user, customers)
      return { acl: 'grants', clientUser: { id: plan.user.id, email: plan.user.email }, grants: found, customers: [...new Set(customers)].slice(0, NOTED_RESOURCES) }
    },
  }
}

export type GrantsAcl = ReturnType<typeof createGrantsAcl>
