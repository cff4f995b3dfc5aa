import type { Db, Queryable } from '../../../db/db.js'
import { encryptValue, fieldAad, keyVersionOf } from '../../../lib/crypto/field-crypto.js'
import type { Job, JobHandler } from '../../jobs/index.js'
import type { KeyService } from '../../keys/keys-service.js'
import type { ModelsStore } from '../models/models-store.js'
import type { RecordsStore } from '../records/records-store.js'
import { resolveTable, type StoredColumn } from '../records/resolved-table.js'

export const REENCRYPT_JOB = 'vault.reencrypt'
/** Records per batch: one transaction each, holding their row locks only that long. */
export const REENCRYPT_BATCH = 500

interface Cursor {
  /** The model being re-encrypted, and the last key done in it (null: none yet). */
  model: string
  after: string | null
}

/** The models a re-encryption goes through: those with an encrypted field, in name order. */
const encryptedModels = async (q: Queryable, models: Pick<ModelsStore, 'list'>, spaceId: string) =>
  (await models.list(q, spaceId)).filter((model) => Object.values(model.fields).some((field) => field.encrypted)).sort((a, b) => (a.name < b.name ? -1 : 1))

/**
 * A re-encryption's size, counted in the transaction that queues it: the records of every model
 * with an encrypted field. Records written meanwhile move it; the job's last batch sets it to
 * what was done.
 */
export function countReencryptJob(deps: { db: Db; models: Pick<ModelsStore, 'list'>; records: Pick<RecordsStore, 'count'> }) {
  return async (q: Queryable, spaceId: string): Promise<number> => {
    let total = 0
    for (const model of await encryptedModels(q, deps.models, spaceId)) total += await deps.records.count(q, resolveTable(deps.db, model, spaceId))
    return total
  }
}

/**
 * The job a data key rotation starts: every encrypted value of the space not yet under the current
 * data key is decrypted (with whichever live version made it) and encrypted again under the current
 * one, model by model in name order, a batch of records in key order per transaction. Reads work
 * throughout: a record is under the old or the new key, and both are live. When the last model is
 * done, the old versions are retired and erased, so nothing opens with them any more. The cursor
 * (model and last key) commits with each batch, so a restarted job resumes where it stopped.
 */
export function createReencryptJob(deps: { db: Db; keys: Pick<KeyService, 'dataKey' | 'dataKeyVersions' | 'retireDataKey'>; models: Pick<ModelsStore, 'list'>; records: Pick<RecordsStore, 'batchAfter' | 'rewriteMany'>; batch?: number }): JobHandler {
  const batch = deps.batch ?? REENCRYPT_BATCH
  return async (job: Job, q: Queryable) => {
    const spaceId = job.space
    const current = await deps.keys.dataKey(q, spaceId)
    const dataVersions = await deps.keys.dataKeyVersions(q, spaceId)
    const models = await encryptedModels(q, deps.models, spaceId)
    const cursor: Cursor | null = job.cursor ? (JSON.parse(job.cursor) as Cursor) : models[0] ? { model: models[0].name, after: null } : null
    const at = cursor ? models.findIndex((model) => model.name >= cursor.model) : -1
    const model = at >= 0 ? models[at]! : null
    if (!model) {
      // Every model done: the old versions hold nothing any more.
      for (let version = 1; version < current.version; version++) if (dataVersions(version)) await deps.keys.retireDataKey(spaceId, version, q)
      return { processed: 0, cursor: null, total: job.done }
    }
    const table = resolveTable(deps.db, model, spaceId, { data: current, dataVersions, index: new Map() })
    const fields = Object.entries(model.fields).filter(([, field]) => field.encrypted).map(([name]) => name)
    const after = cursor && cursor.model === model.name ? cursor.after : null
    const rows = await deps.records.batchAfter(q, table, after, fields, batch)
    const rewrites: Array<{ key: string; columns: StoredColumn[] }> = []
    for (const row of rows) {
      const columns: StoredColumn[] = []
      for (const field of fields) {
        const stored = row[field]
        if (stored === null || stored === undefined) continue
        if (keyVersionOf(Buffer.from(stored as Uint8Array)) === current.version) continue
        const text = table.decryptText(row, field)!
        columns.push({ column: table.columns.get(field)!.column, sqlType: 'bytea', value: encryptValue(current.key, Buffer.from(text, 'utf8'), fieldAad(spaceId, model.name, field, row.__id), current.version) })
      }
      if (columns.length) rewrites.push({ key: row.__id, columns })
    }
    await deps.records.rewriteMany(q, table, rewrites)
    const next: Cursor = rows.length === batch ? { model: model.name, after: rows.at(-1)!.__id } : { model: `${model.name}\u0000`, after: null }
    return { processed: rows.length, cursor: JSON.stringify(next) }
  }
}
