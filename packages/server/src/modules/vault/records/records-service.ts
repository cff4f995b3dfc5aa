import type { Db, Queryable } from '../../../db/db.js'
import { constraintMessage, dbErrorToAppError } from '../../../db/db-errors.js'
import { allOf } from '../../../db/sql-fragment.js'
import { AppError, notFound } from '../../../http/errors.js'
import type { AuditService } from '../../audit/audit-service.js'
import type { AclAction, ExternalAcl } from '../acl/external-acl.js'
import type { GrantNote, GrantsAcl, GrantsRule } from '../acl/grants-acl.js'
import type { Model } from '../models/model-types.js'
import type { ModelRule, VaultAction } from '../policies/vault-policy-types.js'
import { buildRowScope } from '../policy/build-row-scope.js'
import { shownFields } from '../policy/mask-record.js'
import { aclRefusal, askedOutcome, decideAcl } from '../policy/decide-acl.js'
import { passesChecks } from '../find/exact-checks.js'
import { planFind, type FindInput } from './find-plan.js'
import { readRecord, writeRecord } from './record-codec.js'
import { keyValue, type RecordsStore } from './records-store.js'
import type { TableResolver } from './resolved-table.js'
import type { VaultContext, VaultContexts } from './vault-context.js'

export type { FindInput } from './find-plan.js'

export interface RecordsServiceDeps {
  db: Db
  store: RecordsStore
  contexts: VaultContexts
  tables: TableResolver
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

/** Rows a find decrypts to check a blind-index lookup exactly; more is a 400 asking to narrow the filter. */
export const MAX_EXACT_CANDIDATES = 10_000

/**
 * The data plane. Each call prepares (the model, the client's rule, the resolved table and every
 * policy decision, from the pure functions in ../policy/), then does its work and appends its
 * audit event in one transaction. A refusal at either stage is audited on its own.
 */
export function createRecordsService(deps: RecordsServiceDeps) {
  const { db, store, contexts, tables, acl, audit, grantsAcl } = deps

  async function open(context: VaultContext, name: string, action: VaultAction) {
    const { model, rule } = await contexts.modelFor(context, name, action)
    return { model, rule, table: await tables.resolve(context.spaceId, model) }
  }

  /** The ids the rule's ACL allows for this action: decided by policy, asked of the endpoint when it says so. */
  async function allowed(context: VaultContext, model: Model, rule: ModelRule, action: AclAction, ids: string[]): Promise<{ ids: Set<string>; outcome: string }> {
    const decision = decideAcl(model, rule, action, context.clientToken, ids)
    if (decision.kind === 'allow') return decision
    const result = await acl.allowedIds(decision.call)
    return { ids: result, outcome: askedOutcome(decision.call, result) }
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

  /** A call on one record by id: rows the row scope or the person's grants do not reach do not exist for it. */
  async function checkOne(context: VaultContext, name: string, action: VaultAction, id: string) {
    const { model, rule, table } = await open(context, name, action)
    const key = keyValue(model, id)
    if (key === null) throw notFound('record', id)
    const plan = await grantsAcl.plan(context.spaceId, context.clientToken, table, rule)
    const scope = allOf(buildRowScope(table.filterFields, rule), plan?.condition ?? null)
    const verdict = await allowed(context, model, rule, action, [id])
    if (!verdict.ids.has(id)) throw aclRefusal(action, name, id)
    return { model, rule, table, key, verdict, plan, scope }
  }

  return {
    /** Audits a refusal that came before the service ran (a body the route refused to parse or validate). */
    refuse: refused,

    async create(context: VaultContext, name: string, body: unknown) {
      const prepared = await prepare(context, name, 'write', async () => {
        const { model, rule, table } = await open(context, name, 'write')
        const values = readRecord(model, rule, body, 'body', true)
        const id = String(values.get(model.primaryKey))
        const verdict = await allowed(context, model, rule, 'write', [id])
        if (!verdict.ids.has(id)) throw aclRefusal('write', name, id)
        return { model, rule, table, values, verdict, plan: await grantsAcl.plan(context.spaceId, context.clientToken, table, rule) }
      })
      const { model, rule, table, values, verdict, plan } = prepared
      return audited(context, name, 'write', async (tx, note) => {
        try {
          if (plan) await grantsAcl.assertGranted(tx, context.spaceId, plan, [values])
          const row = await store.insert(tx, table, table.seal(values, String(values.get(model.primaryKey))))
          note({ op: 'create', ids: [String(row[model.primaryKey])], acl: verdict.outcome, ...(await grantsAcl.note(tx, context.spaceId, plan, [row])) })
          return writeRecord(table, model, rule, row)
        } catch (error) {
          throw constraintMessage(error, { unique: `${name} '${String(values.get(model.primaryKey))}' already exists` })
        }
      })
    },

    /** Up to 100 records in one transaction: all are created or none. */
    async batch(context: VaultContext, name: string, records: unknown[]) {
      const { model, rule, table, rows, verdict, plan } = await prepare(context, name, 'write', async () => {
        const { model, rule, table } = await open(context, name, 'write')
        const rows = records.map((record, index) => readRecord(model, rule, record, `body.records.${index}`, true))
        const ids = rows.map((values) => String(values.get(model.primaryKey)))
        const verdict = await allowed(context, model, rule, 'write', ids)
        const refused = ids.filter((id) => !verdict.ids.has(id))
        if (refused.length) throw new AppError('forbidden', `your application's ACL does not allow write on ${name} ${refused.slice(0, 5).map((id) => `'${id}'`).join(', ')}`)
        return { model, rule, table, rows, verdict, plan: await grantsAcl.plan(context.spaceId, context.clientToken, table, rule) }
      })
      return audited(context, name, 'write', async (tx, note) => {
        const created: Record<string, unknown>[] = []
        if (plan) await grantsAcl.assertGranted(tx, context.spaceId, plan, rows)
        try {
          for (const values of rows) created.push(writeRecord(table, model, rule, await store.insert(tx, table, table.seal(values, String(values.get(model.primaryKey))))))
        } catch (error) {
          throw constraintMessage(error, { unique: `one of the records already exists in '${name}'; nothing was written` })
        }
        note({ op: 'batch', count: created.length, ids: created.slice(0, AUDITED_IDS).map((record) => String(record[model.primaryKey])), acl: verdict.outcome, ...(await grantsAcl.note(tx, context.spaceId, plan, created)) })
        return created
      })
    },

    async get(context: VaultContext, name: string, id: string) {
      const { model, rule, table, key, verdict, plan, scope } = await prepare(context, name, 'read', () => checkOne(context, name, 'read', id))
      return audited(context, name, 'read', async (tx, note) => {
        const row = await store.getById(tx, table, key, scope)
        if (!row) throw notFound('record', id)
        note({ op: 'get', ids: [id], acl: verdict.outcome, ...(await grantsAcl.note(tx, context.spaceId, plan, [row])) })
        return writeRecord(table, model, rule, row)
      })
    },

    async patch(context: VaultContext, name: string, id: string, body: unknown) {
      const { model, rule, table, key, verdict, values, plan, scope } = await prepare(context, name, 'write', async () => {
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
        if (plan && values.has(plan.rule.field)) await grantsAcl.assertGranted(tx, context.spaceId, plan, [values])
        const row = await store.update(tx, table, key, table.seal(values, String(key)), scope)
        if (!row) throw notFound('record', id)
        note({ op: 'update', ids: [id], fields: [...values.keys()], acl: verdict.outcome, ...(await grantsAcl.note(tx, context.spaceId, plan, [row])) })
        return writeRecord(table, model, rule, row)
      })
    },

    async delete(context: VaultContext, name: string, id: string): Promise<void> {
      const { table, key, verdict, plan, scope } = await prepare(context, name, 'delete', () => checkOne(context, name, 'delete', id))
      await audited(context, name, 'delete', async (tx, note) => {
        const row = plan ? await store.getById(tx, table, key, scope) : null
        if (!(await store.delete(tx, table, key, scope))) throw notFound('record', id)
        note({ op: 'delete', ids: [id], acl: verdict.outcome, ...(await grantsAcl.note(tx, context.spaceId, plan, row ? [row] : [])) })
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
        const { model, rule, table } = await open(context, name, 'read')
        const { where, orderBy, only, checks } = planFind(table, model, rule, input)
        let outcome = 'none'
        const plan = await grantsAcl.plan(context.spaceId, context.clientToken, table, rule)
        if (plan) where.push(plan.condition)
        if (checks.length) {
          // The blind index narrowed; decrypting the compared fields decides. What follows (the ACL,
          // the page, the total) sees exactly the rows that match.
          const fields = [...new Set(checks.map((check) => check.field))]
          const candidates = await store.candidates(table.db, table, where, orderBy, fields, MAX_EXACT_CANDIDATES + 1)
          if (candidates.length > MAX_EXACT_CANDIDATES) {
            throw new AppError('bad_request', `more than ${MAX_EXACT_CANDIDATES} records share the blind index values this filter looks up: narrow it with other fields`)
          }
          const exact = candidates.filter((row) => passesChecks(checks, (field) => table.exactText(row, field))).map((row) => row.__id)
          where.push(store.idsCondition(table, exact))
        }
        if (plan) {
          // The join: the grant check (pushed above) is part of the find's own query, at the instant it runs.
          outcome = 'grants'
        } else if (rule.acl.source !== 'none') {
          const candidates = await store.matchingIds(table.db, table, where, deps.maxAclCandidates + 1)
          if (candidates.length > deps.maxAclCandidates) {
            throw new AppError('bad_request', `more than ${deps.maxAclCandidates} records match and each must be checked with your ACL endpoint: narrow the filter`)
          }
          const verdict = await allowed(context, model, rule, 'read', candidates)
          outcome = verdict.outcome
          where.push(store.idsCondition(table, [...verdict.ids]))
        }
        return { model, rule, table, where, orderBy, only, outcome, plan }
      })
      const { model, rule, table, where, orderBy, only, outcome, plan } = prepared
      // The page, its total, the grants behind its rows (under the `grants` ACL) and its audit event
      // go in one statement: one round trip and no transaction; the event commits with it, before
      // the rows are returned, and names the grants read at the instant the rows were opened.
      try {
        const noted = plan ? grantsAcl.pageNote(context.spaceId, plan) : null
        let committed = () => {}
        const { rows, total, rowGrants } = await store.pageAudited(
          table.db,
          table,
          where,
          orderBy,
          limit,
          offset,
          AUDITED_IDS,
          (extra, firstParam) => {
            // Customers reached through grants are resources of the event too: "who read c_42's tickets" is one audit query.
            const input = { event: 'vault/read', actor: context.actor, resources: [{ kind: 'vault_model', id: name }], meta: { model: name, op: 'find', acl: outcome, ...noted?.meta } }
            const insert = audit.eventInsert(context.spaceId, input, extra, firstParam)
            committed = insert.committed
            return insert
          },
          noted?.grants ?? null,
          // What this caller is shown (the key among them): a hidden field is not read for it at all.
          new Set(shownFields(model, rule, only)),
        )
        committed()
        const data = rows.map((row) => writeRecord(table, model, rule, row, only))
        // For the console's explorer: the grant that opened each row (the /api answer's schema leaves it out).
        return { data, meta: { total, count: data.length, limit, offset }, rowGrants: rowGrants.map(toGrantNote) }
      } catch (error) {
        await refused(context, name, 'read', error)
        throw error
      }
    },
  }
}

/** A grant's note as the statement returned it (jsonb), in GrantNote's own shape; null when the row had none. */
function toGrantNote(note: unknown): GrantNote | null {
  if (!note) return null
  const { grantId, petitionId, resourceId, expiresAt } = note as GrantNote
  return { grantId, petitionId, resourceId, expiresAt }
}

export type RecordsService = ReturnType<typeof createRecordsService>
