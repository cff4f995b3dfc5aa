import { randomBytes } from 'node:crypto'
import type { Db, Queryable } from '../../../db/db.js'
import { constraintMessage } from '../../../db/db-errors.js'
import { AppError, conflict, notFound } from '../../../http/errors.js'
import { base32 } from '../../../lib/ids.js'
import type { AuditService } from '../../audit/audit-service.js'
import type { Principal } from '../../auth/auth-types.js'
import { ruleMentions } from '../policies/check-policy-rules.js'
import type { ChangeFeed } from '../../../db/change-feed.js'
import { vaultTopic } from '../control-cache.js'
import type { VaultPoliciesStore } from '../policies/vault-policies-store.js'
import type { Job, JobsService } from '../../jobs/index.js'
import { CONVERT_FIELD_JOB } from '../crypto/convert-field-job.js'
import { REENCRYPT_JOB } from '../crypto/reencrypt-job.js'
import { REINDEX_JOB } from '../crypto/reindex-job.js'
import { changeSql, conversionGuardDropSql, createTableSql, tableRef } from './model-ddl.js'
import { blindIndexBits } from '../../../lib/crypto/field-crypto.js'
import { DEFAULT_EXPECTED_ROWS, ENCRYPTABLE_TYPES, EQUALITY_SEARCHABLE_TYPES, IDENTIFIER, MAX_FIELDS, SYSTEM_FIELDS, type FieldDefinition, type Model, type ModelDefinition } from './model-types.js'
import type { ModelsStore } from './models-store.js'
import { planModelChange, type ModelChange } from './plan-model-change.js'

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { issues: [{ path, message }] })

/** Names become SQL identifiers, so they are held to one narrow shape before anything else. */
export function checkDefinition(definition: ModelDefinition): void {
  if (!IDENTIFIER.test(definition.name)) invalidName('body.name', definition.name)
  const names = Object.keys(definition.fields)
  if (names.length === 0) throw invalid('body.fields', 'a model needs at least one field')
  if (names.length > MAX_FIELDS) throw invalid('body.fields', `at most ${MAX_FIELDS} fields`)
  for (const name of names) {
    if (!IDENTIFIER.test(name)) invalidName(`body.fields.${name}`, name)
    if ((SYSTEM_FIELDS as readonly string[]).includes(name)) throw invalid(`body.fields.${name}`, `'${name}' is kept by the vault for every record`)
  }
  const key = Object.hasOwn(definition.fields, definition.primaryKey) ? definition.fields[definition.primaryKey] : undefined
  if (!key) throw invalid('body.primaryKey', `'${definition.primaryKey}' is not one of the fields`)
  if (key.type !== 'string' && key.type !== 'integer') throw invalid(`body.fields.${definition.primaryKey}.type`, 'a primary key is a string or an integer')
  for (const [name, field] of Object.entries(definition.fields)) checkEncryption(`body.fields.${name}`, field, name === definition.primaryKey)
}

/** An encrypted field's options, each refusal saying what to send instead. */
function checkEncryption(path: string, field: FieldDefinition, isKey: boolean): void {
  if (field.encrypted) {
    if (isKey) throw invalid(`${path}.encrypted`, 'the primary key cannot be encrypted: it addresses the record and is bound into the ciphertext of its other fields')
    if (!ENCRYPTABLE_TYPES.includes(field.type)) throw invalid(`${path}.encrypted`, `a ${field.type} field cannot be encrypted (types: ${ENCRYPTABLE_TYPES.join(', ')})`)
    if (field.searchable === true) throw invalid(`${path}.searchable`, "an encrypted field has no plain index: use \"searchable\": \"equality\" for a blind index (equality filters only)")
    if (field.searchable === 'equality' && !EQUALITY_SEARCHABLE_TYPES.includes(field.type)) throw invalid(`${path}.searchable`, `a ${field.type} field cannot be equality-searchable (types: ${EQUALITY_SEARCHABLE_TYPES.join(', ')})`)
  } else if (field.searchable === 'equality') throw invalid(`${path}.searchable`, "'equality' is for encrypted fields; a plain field takes \"searchable\": true")
  if ((field.expectedRows !== undefined || field.indexBits !== undefined) && !(field.encrypted && field.searchable === 'equality')) {
    throw invalid(path, "expectedRows and indexBits size a blind index: they apply only to an encrypted field with \"searchable\": \"equality\"")
  }
}

/** Fixes each blind index's length when a field is first defined: later definitions keep it (a change needs a re-index). */
export function withIndexBits(fields: ModelDefinition['fields'], current?: ModelDefinition['fields']): ModelDefinition['fields'] {
  const out: ModelDefinition['fields'] = {}
  for (const [name, field] of Object.entries(fields)) {
    const before = current && Object.hasOwn(current, name) ? current[name] : undefined
    if (!(field.encrypted && field.searchable === 'equality') || field.indexBits !== undefined) out[name] = field
    else out[name] = { ...field, indexBits: before?.indexBits ?? blindIndexBits(field.expectedRows ?? DEFAULT_EXPECTED_ROWS) }
  }
  return out
}

function invalidName(path: string, name: string): never {
  throw invalid(path, `'${name}' must start with a lower-case letter and hold only a-z, 0-9 and _ (at most 63)`)
}

export interface ModelUpdate {
  primaryKey: string
  fields: ModelDefinition['fields']
  /** The fields the caller knows this change drops, with their data. */
  drop?: string[]
}

/** An access policy that names a field a change would drop, and where. */
export interface PolicyMention {
  policyId: string
  policyName: string
  field: string
  places: string[]
}

export interface ModelChangeAnswer {
  changes: ModelChange[]
  wouldDrop: string[]
  policies: PolicyMention[]
}

type Conversion = Extract<ModelChange, { op: 'encrypt' | 'decrypt' }>
const conversionsOf = (changes: readonly ModelChange[]): Conversion[] => changes.filter((change): change is Conversion => change.op === 'encrypt' || change.op === 'decrypt')

const quoted = (names: readonly string[]) => names.map((name) => `'${name}'`).join(', ')
const refusedChange = (reasons: string[]) => conflict(reasons.join('; '), { refused: reasons })

function nextDefinition(name: string, definition: ModelUpdate, current: ModelDefinition): ModelDefinition {
  const next = { name, primaryKey: definition.primaryKey, fields: definition.fields }
  checkDefinition(next)
  return { ...next, fields: withIndexBits(next.fields, current.fields) }
}

export function createModelsService({
  db,
  store,
  audit,
  policies,
  changes,
  encryption,
  jobs,
  conversionDelayMs,
}: {
  db: Db
  store: ModelsStore
  audit: Pick<AuditService, 'append'>
  policies: Pick<VaultPoliciesStore, 'list'>
  /** A model changed or dropped reaches every node's control-plane cache (control-cache.ts). */
  changes: Pick<ChangeFeed, 'touch' | 'announce'>
  /** Whether this server holds field keys; without them an encrypted field is refused rather than stored in the clear. */
  encryption: boolean
  /** A field made encrypted or plain is rewritten by a background job (crypto/convert-field-job.ts). */
  jobs: Pick<JobsService, 'create' | 'active' | 'queued'>
  /**
   * How long a conversion job waits before its first batch: longer than any node may keep using a
   * model cached from before the change (the change feed's bound, docs/nodes.md) plus a request in
   * flight, so that no node still reads only the old column once rows start moving to the new one.
   */
  conversionDelayMs: number
}) {
  function assertEncryption(definition: Pick<ModelDefinition, 'fields'>): void {
    const first = Object.entries(definition.fields).find(([, field]) => field.encrypted)
    if (first && !encryption) throw invalid(`body.fields.${first[0]}.encrypted`, 'this server holds no field keys, so it cannot encrypt: configure its master key (docs/vault-encryption.md)')
  }

  /** The policies whose rule for `model` names one of `fields`. */
  async function mentions(tx: Queryable, spaceId: string, model: string, fields: readonly string[]): Promise<PolicyMention[]> {
    if (fields.length === 0) return []
    const found: PolicyMention[] = []
    for (const policy of await policies.list(tx, spaceId)) {
      const rule = Object.hasOwn(policy.rules, model) ? policy.rules[model] : undefined
      if (!rule) continue
      for (const field of fields) {
        const places = ruleMentions(rule, field)
        if (places.length) found.push({ policyId: policy.id, policyName: policy.name, field, places })
      }
    }
    return found
  }

  /**
   * The fields to store after `changes`: each field made encrypted or plain keeps its stored form,
   * marked `converting` with the job that rewrites its records (created here, in the change's
   * transaction, into `started`); a field already converting keeps its mark, with a new job if its
   * last one failed or was cancelled. Refused (409) while a key rotation's job runs in the space
   * (both rewrite ciphertext), or while an access policy's row filter or grants ACL names a field
   * being made encrypted (neither could compare it any more).
   */
  async function startConversions(tx: Queryable, spaceId: string, current: Model, next: ModelDefinition, planned: readonly ModelChange[], started: Job[]): Promise<Record<string, FieldDefinition>> {
    const fields: Record<string, FieldDefinition> = {}
    for (const [name, field] of Object.entries(next.fields)) {
      const before = Object.hasOwn(current.fields, name) ? current.fields[name] : undefined
      fields[name] = before?.converting ? before : field
    }
    // A conversion whose job failed or was cancelled is left half done (every read still works):
    // sending the model again starts a new job for it, which skips the rows already converted.
    const stalled = Object.entries(fields).filter(([, field]) => field.converting)
    if (stalled.length) {
      const running = new Set((await jobs.active(tx, spaceId, [CONVERT_FIELD_JOB])).map((job) => job.id))
      for (const [name, field] of stalled) {
        if (running.has(field.converting!.job)) continue
        const job = await jobs.create(tx, spaceId, { kind: CONVERT_FIELD_JOB, params: { model: current.name, field: name }, total: await store.rowCount(tx, current.tableName), delayMs: conversionDelayMs })
        started.push(job)
        fields[name] = { ...field, converting: { ...field.converting!, job: job.id } }
      }
    }
    const conversions = conversionsOf(planned)
    if (conversions.length === 0) return fields
    await refuseConversions(tx, spaceId, current.name, conversions)
    for (const change of conversions) {
      const wanted = next.fields[change.field]!
      const job = await jobs.create(tx, spaceId, { kind: CONVERT_FIELD_JOB, params: { model: current.name, field: change.field }, total: change.records, delayMs: conversionDelayMs })
      started.push(job)
      const to = { encrypted: Boolean(wanted.encrypted), ...(wanted.searchable !== undefined ? { searchable: wanted.searchable } : {}), ...(wanted.expectedRows !== undefined ? { expectedRows: wanted.expectedRows } : {}), ...(wanted.indexBits !== undefined ? { indexBits: wanted.indexBits } : {}) }
      fields[change.field] = { ...current.fields[change.field]!, converting: { job: job.id, to } }
    }
    return fields
  }

  /** The conversions of a plan that cannot start now (the dry run refuses them too). */
  async function refuseConversions(tx: Queryable, spaceId: string, model: string, conversions: readonly Conversion[]): Promise<void> {
    if (conversions.length === 0) return
    const rotations = await jobs.active(tx, spaceId, [REENCRYPT_JOB, REINDEX_JOB])
    if (rotations.length) throw conflict(`a key rotation's job '${rotations[0]!.id}' is running in this space: wait for it to end before making a field encrypted or plain`, { jobId: rotations[0]!.id })
    const blocking = (await mentions(tx, spaceId, model, conversions.filter((change) => change.op === 'encrypt').map((change) => change.field))).filter((mention) =>
      mention.places.some((place) => place === 'rowFilter' || place === 'acl.field'),
    )
    if (blocking.length) {
      const list = blocking.map((mention) => `'${mention.policyName}' (${mention.places.filter((place) => place === 'rowFilter' || place === 'acl.field').join(', ')}: '${mention.field}')`).join('; ')
      throw conflict(`vault access policies compare fields this change makes encrypted, which an encrypted field cannot serve: ${list}; change those policies first`, { policies: blocking })
    }
  }

  const mustGet = async (spaceId: string, name: string) => (await store.get(db, spaceId, name)) ?? Promise.reject(notFound('model', name))

  return {
    get: mustGet,
    list: (spaceId: string) => store.list(db, spaceId),

    async create(by: Principal, definition: ModelDefinition): Promise<Model> {
      checkDefinition(definition)
      assertEncryption(definition)
      definition = { ...definition, fields: withIndexBits(definition.fields) }
      const tableName = `vm_${base32(randomBytes(10))}`
      try {
        await db.transaction(async (tx) => {
          await store.insert(tx, by.spaceId, { ...definition, tableName })
          await store.execute(tx, createTableSql(tableName, definition))
          await audit.append(tx, by.spaceId, {
            event: 'vault/model_create',
            actor: by.actor,
            resources: [{ kind: 'vault_model', id: definition.name }],
            meta: { primaryKey: definition.primaryKey, fields: definition.fields },
          })
        })
      } catch (error) {
        throw constraintMessage(error, { unique: `a model named '${definition.name}' already exists` })
      }
      return mustGet(by.spaceId, definition.name)
    },

    /** What `update` would do, without doing it: the same plan and the same refusals (the dry run). */
    async plan(by: Principal, name: string, definition: ModelUpdate): Promise<ModelChangeAnswer> {
      checkDefinition({ name, primaryKey: definition.primaryKey, fields: definition.fields })
      const current = await mustGet(by.spaceId, name)
      const next = nextDefinition(name, definition, current)
      assertEncryption(next)
      const plan = planModelChange(current, next, await store.rowCount(db, current.tableName))
      if (plan.refused.length) throw refusedChange(plan.refused)
      await refuseConversions(db, by.spaceId, name, conversionsOf(plan.changes))
      return { changes: plan.changes, wouldDrop: plan.drops, policies: await mentions(db, by.spaceId, name, plan.drops) }
    },

    /**
     * Migrates the model's table: add and drop fields, widen types, toggle searchable and required.
     * A drop applies only when the request names every dropped field in `drop` and no access policy
     * still names one (policies are never edited behind the admin's back); otherwise a 409 lists both.
     */
    async update(by: Principal, name: string, definition: ModelUpdate): Promise<{ model: Model; jobs: Job[] }> {
      checkDefinition({ name, primaryKey: definition.primaryKey, fields: definition.fields })
      const acknowledged = definition.drop ?? []
      const started: Job[] = []
      try {
        await db.transaction(async (tx) => {
          const current = await store.get(tx, by.spaceId, name, true)
          if (!current) throw notFound('model', name)
          const next = nextDefinition(name, definition, current)
          assertEncryption(next)
          const plan = planModelChange(current, next, await store.rowCount(tx, current.tableName))
          if (plan.refused.length) throw refusedChange(plan.refused)
          const stray = acknowledged.filter((field) => !plan.drops.includes(field))
          if (stray.length) throw invalid('body.drop', `${quoted(stray)} ${stray.length === 1 ? 'is' : 'are'} not dropped by this change (it drops ${plan.drops.length ? quoted(plan.drops) : 'nothing'})`)
          const named = await mentions(tx, by.spaceId, name, plan.drops)
          const unacknowledged = plan.drops.filter((field) => !acknowledged.includes(field))
          if (unacknowledged.length) {
            throw conflict(`this change drops ${quoted(plan.drops)} of model '${name}' and every value stored in ${plan.drops.length === 1 ? 'it' : 'them'}; to confirm, send "drop": [${plan.drops.map((field) => `"${field}"`).join(', ')}]`, { drop: plan.drops, policies: named })
          }
          if (named.length) {
            const list = named.map((mention) => `'${mention.policyName}' (${mention.places.map((place) => `${place}: '${mention.field}'`).join(', ')})`).join('; ')
            throw conflict(`vault access policies still name fields this change drops: ${list}; change those policies first`, { drop: plan.drops, policies: named })
          }
          const fields = await startConversions(tx, by.spaceId, current, next, plan.changes, started)
          const statements = changeSql(current.tableName, plan.changes)
          await store.execute(tx, statements)
          await store.updateFields(tx, by.spaceId, name, fields)
          await audit.append(tx, by.spaceId, {
            event: 'vault/model_update',
            actor: by.actor,
            resources: [{ kind: 'vault_model', id: name }],
            meta: { fields, ddl: statements.length, changes: plan.changes.map(({ op, field }) => ({ op, field })), dropped: plan.drops, ...(started.length ? { jobIds: started.map((job) => job.id) } : {}) },
          })
          await changes.touch(tx, vaultTopic(by.spaceId))
        })
      } catch (error) {
        throw constraintMessage(error, { notNull: `some records of '${name}' have no value for a field you made required; fill them in first` })
      }
      changes.announce(vaultTopic(by.spaceId))
      if (started.length) jobs.queued()
      return { model: await mustGet(by.spaceId, name), jobs: started }
    },

    /** Drops the model and every record in it. */
    async delete(by: Principal, name: string): Promise<void> {
      await db.transaction(async (tx) => {
        const current = await store.get(tx, by.spaceId, name, true)
        if (!current) throw notFound('model', name)
        // A conversion's guard function is not the table's: it goes separately (its job then finds no model and ends).
        const guards = Object.entries(current.fields).filter(([, field]) => field.converting).map(([field]) => conversionGuardDropSql(current.tableName, field))
        await store.execute(tx, [...guards, `DROP TABLE ${tableRef(current.tableName)}`])
        await store.delete(tx, by.spaceId, name)
        await audit.append(tx, by.spaceId, { event: 'vault/model_delete', actor: by.actor, resources: [{ kind: 'vault_model', id: name }] })
        await changes.touch(tx, vaultTopic(by.spaceId))
      })
      changes.announce(vaultTopic(by.spaceId))
    },
  }
}

export type ModelsService = ReturnType<typeof createModelsService>
