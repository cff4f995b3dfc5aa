import type { Db, Queryable } from '../../../db/db.js'
import { constraintMessage, dbErrorToAppError } from '../../../db/db-errors.js'
import { AppError, notFound } from '../../../http/errors.js'
import type { AuditService } from '../../audit/audit-service.js'
import type { AclAction, ExternalAcl } from '../acl/external-acl.js'
import type { GrantsAcl, GrantsRule, GrantUser } from '../acl/grants-acl.js'
import { compileFilter, compileSort } from '../find/filter-compiler.js'
import { fieldSpecs } from '../models/model-fields.js'
import type { Model } from '../models/model-types.js'
import type { ModelRule, VaultAction } from '../policies/vault-policy-types.js'
import { isReadable, readRecord, writeRecord } from './record-codec.js'
import { keyValue, merge, type Condition, type RecordsStore } from './records-store.js'
import type { VaultContext, VaultContexts } from './vault-context.js'

export interface FindInput {
  filter?: Record<string, unknown>
  options?: { limit?: number; offset?: number; sort?: unknown; fields?: string[] }
}

export interface RecordsServiceDeps {
  db: Db
  store: RecordsStore
  contexts: VaultContexts
  acl: ExternalAcl
  grantsAcl: GrantsAcl
  audit: Pick<AuditService, 'append' | 'record' | 'eventInsert'>
  /** Above this many candidate ids, a find with an external ACL is refused: narrow the filter. */
  maxAclCandidates: number
}

/** InCountry's bound on one find. */
export const MAX_FIND_LIMIT = 100

/** How many record ids an audit event lists; counts are always exact. */
const AUDITED_IDS = 100

const readableField = (model: Model, rule: ModelRule) => (field: string) => field === model.primaryKey || field === 'created_at' || field === 'updated_at' || isReadable(rule, field)
/** What a filter or sort may name: what can be read, and what the policy made filterable on purpose. */
const filterableField = (model: Model, rule: ModelRule) => {
  const readable = readableField(model, rule)
  return (field: string) => readable(field) || Boolean(rule.filterable?.includes(field))
}

/** The policy's static row filter: rows outside it do not exist for this client. */
const rowScope = (model: Model, rule: ModelRule): Condition | null =>
  rule.rowFilter ? compileFilter(rule.rowFilter, { fields: fieldSpecs(model), readable: () => true, firstParam: 1 }) : null

/** Both conditions, as one (either may be absent). */
function both(a: Condition | null, b: Condition | null): Condition | null {
  if (!a || !b) return a ?? b
  const params: unknown[] = []
  return { sql: `(${merge(params, a)}) AND (${merge(params, b)})`, params }
}

interface GrantsPlan {
  rule: GrantsRule
  user: GrantUser
  condition: Condition
}

export function createRecordsService(deps: RecordsServiceDeps) {
  const { db, store, contexts, acl, audit, grantsAcl } = deps

  /** For the `grants` source: who is asking and the condition that opens their customers' rows. */
  async function grantsPlan(context: VaultContext, model: Model, rule: ModelRule): Promise<GrantsPlan | null> {
    if (rule.acl.source !== 'grants') return null
    const user = await grantsAcl.user(context.spaceId, context.clientToken)
    return { rule: rule.acl, user, condition: grantsAcl.condition(model, rule.acl, context.spaceId, user) }
  }

  /** A write may put a row only under a customer the person holds a grant on. */
  async function assertGranted(tx: Queryable, context: VaultContext, plan: GrantsPlan, values: Map<string, unknown>[]) {
    const wanted = values.map((row) => String(row.get(plan.rule.field) ?? ''))
    const held = new Set((await grantsAcl.grantsFor(tx, plan.rule, context.spaceId, plan.user, wanted)).map((grant) => grant.resourceId))
    const missing = wanted.find((id) => !held.has(id))
    if (missing !== undefined) {
      throw new AppError('forbidden', `you hold no active grant on ${plan.rule.resourceKind} '${missing}': ask for access to it first`)
    }
  }

  /** The grants behind the rows touched, and those customers as audit resources. */
  async function grantsNote(tx: Queryable, context: VaultContext, plan: GrantsPlan | null, rows: Record<string, unknown>[]) {
    if (!plan) return {}
    const customers = rows.map((row) => String(row[plan.rule.field]))
    const grants = await grantsAcl.grantsFor(tx, plan.rule, context.spaceId, plan.user, customers)
    return { acl: 'grants', clientUser: { id: plan.user.id, email: plan.user.email }, grants, customers: [...new Set(customers)].slice(0, 100) }
  }

  /** The ids the rule's ACL allows for this action; with no ACL, all of them. */
  async function allowed(context: VaultContext, model: Model, rule: ModelRule, action: AclAction, ids: string[]): Promise<{ ids: Set<string>; outcome: string }> {
    if (rule.acl.source === 'none') return { ids: new Set(ids), outcome: 'none' }
    if (rule.acl.source === 'grants') return { ids: new Set(ids), outcome: 'grants' }
    if (!context.clientToken) {
      throw new AppError('acl_client_auth_missing', `model '${model.name}' is guarded by your application's ACL: send 'x-client-auth: Bearer <your user token>'`)
    }
    if (ids.length === 0) return { ids: new Set(), outcome: 'external: nothing to ask' }
    const result = await acl.allowedIds({ url: rule.acl.url, timeoutMs: rule.acl.timeoutMs ?? 2000, clientToken: context.clientToken, action, model: model.name, primaryKey: model.primaryKey, ids })
    return { ids: result, outcome: `external: ${result.size} of ${ids.length} allowed` }
  }

  /** A refusal is audited on its own, one autocommit statement: the call's own work was rolled back or never ran. */
  async function refused(context: VaultContext, model: string, action: VaultAction, error: unknown) {
    const known = error instanceof AppError ? error : dbErrorToAppError(error)
    const refusal = known ? { code: known.code, message: known.message } : { code: 'internal', message: 'internal error' }
    await audit.record(context.spaceId, { event: 'vault/refused', actor: context.actor, resources: [{ kind: 'vault_model', id: model }], meta: { model, action, ...refusal } })
  }

  /**
   * Runs one data-plane call: its work and its audit event commit together; a refusal is audited
   * on its own, then rethrown.
   */
  async function audited<T>(context: VaultContext, model: string, action: VaultAction, work: (tx: Queryable, note: (meta: Record<string, unknown>) => void) => Promise<T>): Promise<T> {
    try {
      return await db.transaction(async (tx) => {
        let meta: Record<string, unknown> = {}
        const result = await work(tx, (more) => (meta = { ...meta, ...more }))
        // Customers reached through grants are resources of the event too: "who read c_42's tickets" is one audit query.
        const customers = (meta.customers as string[] | undefined) ?? []
        const kind = context.policy.rules[model]?.acl.source === 'grants' ? (context.policy.rules[model]!.acl as GrantsRule).resourceKind : null
        const resources = [{ kind: 'vault_model', id: model }, ...(kind ? customers.map((id) => ({ kind, id })) : [])]
        await audit.append(tx, context.spaceId, { event: `vault/${action}`, actor: context.actor, resources, meta: { model, ...meta } })
        return result
      })
    } catch (error) {
      await refused(context, model, action, error)
      throw error
    }
  }

  /** Preparation that may fail before any work: also audited as a refusal. */
  async function prepare<T>(context: VaultContext, model: string, action: VaultAction, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      if (error instanceof AppError) await refused(context, model, action, error)
      throw error
    }
  }

  async function checkOne(context: VaultContext, name: string, action: VaultAction, id: string) {
    const { model, rule } = await contexts.modelFor(context, name, action)
    const key = keyValue(model, id)
    if (key === null) throw notFound('record', id)
    const plan = await grantsPlan(context, model, rule)
    // Rows the policy's row filter or the person's grants do not reach do not exist for this call.
    const scope = both(rowScope(model, rule), plan?.condition ?? null)
    const verdict = await allowed(context, model, rule, action, [id])
    if (!verdict.ids.has(id)) {
      // A record the ACL does not let you read does not exist for you; a write or delete it refuses is a 403.
      if (action === 'read') throw notFound('record', id)
      throw new AppError('forbidden', `your application's ACL does not allow ${action} on ${name} '${id}'`)
    }
    return { model, rule, key, verdict, plan, scope }
  }

  return {
    /** Audits a refusal that came before the service ran (a body the route refused to parse or validate). */
    refuse: refused,

    async create(context: VaultContext, name: string, body: unknown) {
      const prepared = await prepare(context, name, 'write', async () => {
        const { model, rule } = await contexts.modelFor(context, name, 'write')
        const values = readRecord(model, rule, body, 'body', true)
        const id = String(values.get(model.primaryKey))
        const verdict = await allowed(context, model, rule, 'write', [id])
        if (!verdict.ids.has(id)) throw new AppError('forbidden', `your application's ACL does not allow write on ${name} '${id}'`)
        return { model, rule, values, verdict, plan: await grantsPlan(context, model, rule) }
      })
      const { model, rule, values, verdict } = prepared
      return audited(context, name, 'write', async (tx, note) => {
        try {
          if (prepared.plan) await assertGranted(tx, context, prepared.plan, [values])
          const row = await store.insert(tx, model, values)
          note({ op: 'create', ids: [String(row[model.primaryKey])], acl: verdict.outcome, ...(await grantsNote(tx, context, prepared.plan, [row])) })
          return writeRecord(model, rule, row)
        } catch (error) {
          throw constraintMessage(error, { unique: `${name} '${String(values.get(model.primaryKey))}' already exists` })
        }
      })
    },

    /** Up to 100 records in one transaction: all are created or none. */
    async batch(context: VaultContext, name: string, records: unknown[]) {
      const { model, rule, rows, verdict, plan } = await prepare(context, name, 'write', async () => {
        const { model, rule } = await contexts.modelFor(context, name, 'write')
        const rows = records.map((record, index) => readRecord(model, rule, record, `body.records.${index}`, true))
        const ids = rows.map((values) => String(values.get(model.primaryKey)))
        const verdict = await allowed(context, model, rule, 'write', ids)
        const refused = ids.filter((id) => !verdict.ids.has(id))
        if (refused.length) throw new AppError('forbidden', `your application's ACL does not allow write on ${name} ${refused.slice(0, 5).map((id) => `'${id}'`).join(', ')}`)
        return { model, rule, rows, verdict, plan: await grantsPlan(context, model, rule) }
      })
      return audited(context, name, 'write', async (tx, note) => {
        const created: Record<string, unknown>[] = []
        if (plan) await assertGranted(tx, context, plan, rows)
        try {
          for (const values of rows) created.push(writeRecord(model, rule, await store.insert(tx, model, values)))
        } catch (error) {
          throw constraintMessage(error, { unique: `one of the records already exists in '${name}'; nothing was written` })
        }
        note({ op: 'batch', count: created.length, ids: created.slice(0, AUDITED_IDS).map((record) => String(record[model.primaryKey])), acl: verdict.outcome, ...(await grantsNote(tx, context, plan, created)) })
        return created
      })
    },

    async get(context: VaultContext, name: string, id: string) {
      const { model, rule, key, verdict, plan, scope } = await prepare(context, name, 'read', () => checkOne(context, name, 'read', id))
      return audited(context, name, 'read', async (tx, note) => {
        const row = await store.getById(tx, model, key, scope)
        if (!row) throw notFound('record', id)
        note({ op: 'get', ids: [id], acl: verdict.outcome, ...(await grantsNote(tx, context, plan, [row])) })
        return writeRecord(model, rule, row)
      })
    },

    async patch(context: VaultContext, name: string, id: string, body: unknown) {
      const { model, rule, key, verdict, values, plan, scope } = await prepare(context, name, 'write', async () => {
        const checked = await checkOne(context, name, 'write', id)
        const values = readRecord(checked.model, checked.rule, body, 'body', false)
        if (values.has(checked.model.primaryKey) && String(values.get(checked.model.primaryKey)) !== id) {
          throw new AppError('validation_failed', `body.${checked.model.primaryKey}: the primary key cannot change`)
        }
        values.delete(checked.model.primaryKey)
        return { ...checked, values }
      })
      return audited(context, name, 'write', async (tx, note) => {
        // Moving a row to another customer needs a grant on that customer too.
        if (plan && values.has(plan.rule.field)) await assertGranted(tx, context, plan, [values])
        const row = await store.update(tx, model, key, values, scope)
        if (!row) throw notFound('record', id)
        note({ op: 'update', ids: [id], fields: [...values.keys()], acl: verdict.outcome, ...(await grantsNote(tx, context, plan, [row])) })
        return writeRecord(model, rule, row)
      })
    },

    async delete(context: VaultContext, name: string, id: string): Promise<void> {
      const { model, key, verdict, plan, scope } = await prepare(context, name, 'delete', () => checkOne(context, name, 'delete', id))
      await audited(context, name, 'delete', async (tx, note) => {
        const row = plan ? await store.getById(tx, model, key, scope) : null
        if (!(await store.delete(tx, model, key, scope))) throw notFound('record', id)
        note({ op: 'delete', ids: [id], acl: verdict.outcome, ...(await grantsNote(tx, context, plan, row ? [row] : [])) })
      })
    },

    /**
     * Reference 004's find: the ids matching the filter first, then the ACL call(s) with those ids,
     * then the allowed records, sorted and paged. `meta.total` counts allowed rows only.
     */
    async find(context: VaultContext, name: string, input: FindInput) {
      const limit = input.options?.limit ?? MAX_FIND_LIMIT
      const offset = input.options?.offset ?? 0
      if (limit > MAX_FIND_LIMIT) throw new AppError('validation_failed', `options.limit: at most ${MAX_FIND_LIMIT} records per find; use options.offset to page past them`)
      const prepared = await prepare(context, name, 'read', async () => {
        const { model, rule } = await contexts.modelFor(context, name, 'read')
        const readable = readableField(model, rule)
        const fields = fieldSpecs(model)
        const only = input.options?.fields
        for (const [index, field] of (only ?? []).entries()) {
          if (!fields.has(field)) throw new AppError('validation_failed', `options.fields.${index}: model '${name}' has no field '${field}'`)
          if (!readable(field)) throw new AppError('validation_failed', `options.fields.${index}: you cannot read field '${field}'`)
        }
        const filter = compileFilter(input.filter ?? {}, { fields, readable: filterableField(model, rule), firstParam: 1 })
        const sort = compileSort(input.options?.sort, { fields, readable: filterableField(model, rule) })
        const orderBy = `${sort || ' ORDER BY'}${sort ? ',' : ''} "${model.primaryKey}"`
        const where: Condition[] = [filter, rowScope(model, rule)].filter((condition): condition is Condition => condition !== null)
        let outcome = 'none'
        const plan = await grantsPlan(context, model, rule)
        if (plan) {
          // The join: the grant check is part of the find's own query, at the instant it runs.
          where.push(plan.condition)
          outcome = 'grants'
        } else if (rule.acl.source !== 'none') {
          const candidates = await store.matchingIds(db, model, where, deps.maxAclCandidates + 1)
          if (candidates.length > deps.maxAclCandidates) {
            throw new AppError('bad_request', `more than ${deps.maxAclCandidates} records match and each must be checked with your ACL endpoint: narrow the filter`)
          }
          const verdict = await allowed(context, model, rule, 'read', candidates)
          outcome = verdict.outcome
          where.push(store.idsCondition(model, [...verdict.ids]))
        }
        return { model, rule, where, orderBy, only, outcome, plan }
      })
      if (!prepared.plan) {
        // No grants to note: the page and its audit event go in one statement, one round trip and
        // no transaction; the event commits with it, before the rows are returned.
        const { model, rule, where, orderBy, only, outcome } = prepared
        try {
          let committed = () => {}
          const { rows, total } = await store.pageAudited(db, model, where, orderBy, limit, offset, AUDITED_IDS, (metaSql, firstParam) => {
            const insert = audit.eventInsert(
              context.spaceId,
              { event: 'vault/read', actor: context.actor, resources: [{ kind: 'vault_model', id: name }], meta: { model: name, op: 'find', acl: outcome } },
              metaSql,
              firstParam,
            )
            committed = insert.committed
            return insert
          })
          committed()
          const data = rows.map((row) => writeRecord(model, rule, row, only))
          return { data, meta: { total, count: data.length, limit, offset }, rowGrants: data.map(() => null) }
        } catch (error) {
          await refused(context, name, 'read', error)
          throw error
        }
      }
      return audited(context, name, 'read', async (tx, note) => {
        const { model, rule, where, orderBy, only, outcome, plan } = prepared
        const { rows, total } = await store.page(tx, model, where, orderBy, limit, offset)
        const data = rows.map((row) => writeRecord(model, rule, row, only))
        const grants = await grantsNote(tx, context, plan, rows)
        note({ op: 'find', count: data.length, total, ids: data.slice(0, AUDITED_IDS).map((record) => String(record[model.primaryKey])), acl: outcome, ...grants })
        // For the console's explorer: the grant that opened each row (the /api answer's schema leaves it out).
        const byResource = new Map((grants.grants ?? []).map((grant) => [grant.resourceId, grant]))
        const rowGrants = plan ? rows.map((row) => byResource.get(String(row[plan.rule.field])) ?? null) : rows.map(() => null)
        return { data, meta: { total, count: data.length, limit, offset }, rowGrants }
      })
    },
  }
}

export type RecordsService = ReturnType<typeof createRecordsService>
