import type { Db, Queryable } from '../../../db/db.js'
import { blindIndex } from '../../../lib/crypto/field-crypto.js'
import type { Job, JobHandler } from '../../jobs/index.js'
import type { KeyService } from '../../keys/keys-service.js'
import type { Model } from '../models/model-types.js'
import type { ModelsStore } from '../models/models-store.js'
import type { RecordsStore } from '../records/records-store.js'
import { resolveTable } from '../records/resolved-table.js'
import { REENCRYPT_BATCH } from './reencrypt-job.js'

export const REINDEX_JOB = 'vault.reindex'

/** A re-indexing's size, counted in the transaction that queues it: the model's records (the last batch sets it to what was done). */
export function countReindexJob(deps: { db: Db; records: Pick<RecordsStore, 'count'> }) {
  return async (q: Queryable, spaceId: string, model: Model): Promise<number> => deps.records.count(q, resolveTable(deps.db, model, spaceId))
}

/**
 * The job an index key rotation starts (params: model, field): every record's blind index of the
 * field is computed again under the current index key, a batch in key order per transaction. Finds
 * look up both the current and the previous key's index values meanwhile, so a record not yet
 * re-indexed is still found; at the end the previous versions are retired.
 */
export function createReindexJob(deps: { db: Db; keys: Pick<KeyService, 'dataKey' | 'dataKeyVersions' | 'indexKey' | 'retireIndexKey'>; models: Pick<ModelsStore, 'get'>; records: Pick<RecordsStore, 'batchAfter' | 'rewriteMany'>; batch?: number }): JobHandler {
  const batch = deps.batch ?? REENCRYPT_BATCH
  return async (job: Job, q: Queryable) => {
    const { model: name, field } = job.params as { model: string; field: string }
    const model = await deps.models.get(q, job.space, name)
    const definition = model && Object.hasOwn(model.fields, field) ? model.fields[field] : undefined
    // The field was dropped (or made plain) since: nothing left to index.
    if (!model || !definition?.encrypted || definition.searchable !== 'equality') return { processed: 0, cursor: null, total: job.done }
    const index = await deps.keys.indexKey(q, job.space, name, field)
    const table = resolveTable(deps.db, model, job.space, { data: await deps.keys.dataKey(q, job.space), dataVersions: await deps.keys.dataKeyVersions(q, job.space), index: new Map([[field, index]]) })
    const spec = table.columns.get(field)!
    const rows = await deps.records.batchAfter(q, table, job.cursor, [field], batch)
    const rewrites = rows.flatMap((row) => {
      const text = table.decryptText(row, field)
      return text === null ? [] : [{ key: row.__id, columns: [{ column: spec.encrypted!.indexColumn!, sqlType: 'bytea', value: blindIndex(index.current.key, text, spec.encrypted!.bits), internal: true }] }]
    })
    await deps.records.rewriteMany(q, table, rewrites)
    if (rows.length === batch) return { processed: rows.length, cursor: rows.at(-1)!.__id }
    if (index.previous) await deps.keys.retireIndexKey(job.space, name, field, index.previous.version, q)
    return { processed: rows.length, cursor: null, total: job.done + rows.length }
  }
}
