import type { ChangeFeed } from '../../../db/change-feed.js'
import type { Db, Queryable } from '../../../db/db.js'
import { AppError, notFound } from '../../../http/errors.js'
import type { AuditService } from '../../audit/audit-service.js'
import type { Principal } from '../../auth/auth-types.js'
import type { Job, JobsService } from '../../jobs/index.js'
import { keysTopic } from '../../keys/keys-types.js'
import type { KeyService } from '../../keys/keys-service.js'
import type { ModelsStore } from '../models/models-store.js'
import type { RecordsStore } from '../records/records-store.js'
import { countReencryptJob, REENCRYPT_JOB } from './reencrypt-job.js'
import { countReindexJob, REINDEX_JOB } from './reindex-job.js'

/** Key rotations an admin starts from the vault's API. */
export function createVaultKeysService(deps: {
  db: Db
  keys: Pick<KeyService, 'rotateDataKey' | 'rotateIndexKey'>
  jobs: Pick<JobsService, 'create' | 'queued'>
  audit: Pick<AuditService, 'append'>
  models: Pick<ModelsStore, 'get' | 'list'>
  records: Pick<RecordsStore, 'count'>
  changes: Pick<ChangeFeed, 'announce'>
  /** The jobs' wait before their first batch (VaultOptions.keyJobDelayMs). */
  jobDelayMs: number
}) {
  const reencryptSize = countReencryptJob(deps)
  const reindexSize = countReindexJob(deps)
  // The key service moves the keys topic inside the transaction (its NOTIFY leaves with the commit); this
  // node's own field-key cache is also told at once after the commit, not when its listener hears back.

  /** A field conversion rewrites ciphertext too: a rotation waits for it (and a conversion for a rotation, models-service.ts). */
  async function refuseWhileConverting(tx: Queryable, spaceId: string): Promise<void> {
    for (const model of await deps.models.list(tx, spaceId)) {
      for (const [name, field] of Object.entries(model.fields)) {
        if (field.converting) throw new AppError('conflict', `field '${name}' of model '${model.name}' is being converted by job '${field.converting.job}': rotate keys once it ends`, { jobId: field.converting.job })
      }
    }
  }

  return {
    /**
     * A new data key version for the space, and the job that re-encrypts every record under it: new
     * writes use it at once, reads open either version until the job ends and retires the old ones.
     * The rotation, the job (with its size) and the audit event commit together; then the runners
     * of every node are told.
     */
    async rotateDataKey(by: Principal): Promise<{ version: number; job: Job }> {
      const rotated = await deps.db.transaction(async (tx) => {
        await refuseWhileConverting(tx, by.spaceId)
        const version = await deps.keys.rotateDataKey(by.spaceId, tx)
        const job = await deps.jobs.create(tx, by.spaceId, { kind: REENCRYPT_JOB, params: { version }, total: await reencryptSize(tx, by.spaceId), delayMs: deps.jobDelayMs })
        await deps.audit.append(tx, by.spaceId, { event: 'vault/data_key_rotate', actor: by.actor, resources: [{ kind: 'vault_job', id: job.id }], meta: { version, jobId: job.id } })
        return { version, job }
      })
      deps.changes.announce(keysTopic(by.spaceId))
      deps.jobs.queued()
      return rotated
    },

    /** A new index key version for one equality-searchable field, and the job that re-indexes its records under it. */
    async rotateIndexKey(by: Principal, modelName: string, field: string): Promise<{ version: number; job: Job }> {
      const rotated = await deps.db.transaction(async (tx) => {
        const model = await deps.models.get(tx, by.spaceId, modelName, true)
        if (!model) throw notFound('model', modelName)
        const definition = Object.hasOwn(model.fields, field) ? model.fields[field] : undefined
        if (!definition?.encrypted || definition.searchable !== 'equality') {
          throw new AppError('validation_failed', `field '${field}' of model '${modelName}' has no blind index: only an encrypted field with "searchable": "equality" has an index key`)
        }
        await refuseWhileConverting(tx, by.spaceId)
        const version = await deps.keys.rotateIndexKey(by.spaceId, modelName, field, tx)
        const job = await deps.jobs.create(tx, by.spaceId, { kind: REINDEX_JOB, params: { model: modelName, field, version }, total: await reindexSize(tx, by.spaceId, model), delayMs: deps.jobDelayMs })
        await deps.audit.append(tx, by.spaceId, { event: 'vault/index_key_rotate', actor: by.actor, resources: [{ kind: 'vault_model', id: modelName }, { kind: 'vault_job', id: job.id }], meta: { field, version, jobId: job.id } })
        return { version, job }
      })
      deps.changes.announce(keysTopic(by.spaceId))
      deps.jobs.queued()
      return rotated
    },
  }
}

export type VaultKeysService = ReturnType<typeof createVaultKeysService>
