import type { ChangeFeed } from '../../../db/change-feed.js'
import type { Db, Queryable } from '../../../db/db.js'
import type { AuditService } from '../../audit/audit-service.js'
import type { Job, JobHandler } from '../../jobs/index.js'
import type { IndexKeys } from '../../keys/keys-types.js'
import { vaultTopic } from '../control-cache.js'
import { conversionEndSql } from '../models/model-ddl.js'
import { convertedField, type FieldDefinition } from '../models/model-types.js'
import type { ModelsStore } from '../models/models-store.js'
import type { RecordsStore } from '../records/records-store.js'
import { resolveTable } from '../records/resolved-table.js'
import type { KeyService } from '../../keys/keys-service.js'
import { REENCRYPT_BATCH } from './reencrypt-job.js'

export const CONVERT_FIELD_JOB = 'vault.convert_field'

/** What a conversion's DDL needs, from the field as stored while it converts. */
export function conversionShape(name: string, field: FieldDefinition) {
  const target = convertedField(field)
  const encrypt = target.encrypted === true
  const encryptedForm = encrypt ? target : field
  const plainForm = encrypt ? field : target
  return {
    op: encrypt ? ('encrypt' as const) : ('decrypt' as const),
    field: name,
    type: field.type,
    required: Boolean(field.required),
    ...(encryptedForm.searchable === 'equality' ? { blindIndex: true as const } : {}),
    ...(plainForm.searchable === true ? { index: true as const } : {}),
  }
}

/**
 * The job a model change starts when it makes a plain field encrypted or the reverse (params:
 * model, field). Each batch reads the next records in key order, locked, and writes each one's
 * value in its new form into the shadow column; the table's guard clears the old form in that same
 * row update (model-ddl.ts conversionStartSql), so a converted row holds no plaintext of an
 * encrypted value, and a read finds the value in whichever form the row holds. The cursor (the last
 * key done) commits with the batch, so a restarted or taken-over job resumes after it.
 *
 * The last batch, in the same transaction as the job's end: locks the table, checks no row holds
 * the old form (a write of it is refused by the guard, so none should), then drops the old column,
 * gives the shadow column the field's name, stores the field's new definition, appends the audit
 * event and touches the space's vault topic so every node's cached model changes with the table.
 */
export function createConvertFieldJob(deps: {
  db: Db
  /** The key service itself, read in the job's transaction (not a node's cache). */
  keys: Pick<KeyService, 'dataKey' | 'dataKeyVersions' | 'indexKey'>
  models: Pick<ModelsStore, 'get' | 'updateFields' | 'execute'>
  records: Pick<RecordsStore, 'rowsAfter' | 'rewrite' | 'lockAndFindLeft'>
  audit: Pick<AuditService, 'append'>
  changes: Pick<ChangeFeed, 'touch' | 'announce'>
  batch?: number
}): JobHandler {
  const batch = deps.batch ?? REENCRYPT_BATCH
  return async (job: Job, q: Queryable) => {
    const { model: name, field } = job.params as { model: string; field: string }
    const model = await deps.models.get(q, job.space, name, true)
    const definition = model && Object.hasOwn(model.fields, field) ? model.fields[field] : undefined
    // The model was deleted since (a converting field cannot be dropped): nothing left to convert.
    if (!model || definition?.converting?.job !== job.id) return { processed: 0, cursor: null }
    const encryptedForm = definition.encrypted ? definition : { ...definition, ...definition.converting.to }
    const index = new Map<string, IndexKeys>()
    if (encryptedForm.searchable === 'equality') index.set(field, await deps.keys.indexKey(q, job.space, name, field))
    const table = resolveTable(deps.db, model, job.space, { data: await deps.keys.dataKey(q, job.space), dataVersions: await deps.keys.dataKeyVersions(q, job.space), index })

    // '' restarts from the first key (see below); null is the job's first batch.
    const rows = await deps.records.rowsAfter(q, table, job.cursor || null, batch)
    for (const row of rows) {
      const columns = table.convert(row, field)
      if (columns) await deps.records.rewrite(q, table, row[model.primaryKey], columns)
    }
    if (rows.length === batch) return { processed: rows.length, cursor: rows.at(-1)!.__id }

    // The old form is the field's own column in either direction.
    if (await deps.records.lockAndFindLeft(q, table, field)) return { processed: rows.length, cursor: '' }
    const shape = conversionShape(field, definition)
    const statements = conversionEndSql(model.tableName, shape)
    await deps.models.execute(q, statements)
    const fields = { ...model.fields, [field]: convertedField(definition) }
    await deps.models.updateFields(q, job.space, name, fields)
    await deps.audit.append(q, job.space, {
      event: 'vault/model_update',
      actor: { kind: 'system', id: `job:${job.id}`, display: CONVERT_FIELD_JOB },
      resources: [{ kind: 'vault_model', id: name }, { kind: 'vault_job', id: job.id }],
      meta: { fields, ddl: statements.length, changes: [{ op: shape.op, field, finished: true }], dropped: [], jobId: job.id },
    })
    await deps.changes.touch(q, vaultTopic(job.space))
    return { processed: rows.length, cursor: null, afterCommit: () => deps.changes.announce(vaultTopic(job.space)) }
  }
}
