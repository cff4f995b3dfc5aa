import type { Db } from '../../../db/db.js'
import type { AuditService } from '../../audit/audit-service.js'
import type { Principal } from '../../auth/auth-types.js'
import type { Job, JobsService } from '../../jobs/index.js'
import type { KeyService } from '../../keys/keys-service.js'
import { REENCRYPT_JOB } from './reencrypt-job.js'

/** Key rotations an admin starts from the vault's API. */
export function createVaultKeysService(deps: { db: Db; keys: Pick<KeyService, 'rotateDataKey'>; jobs: Pick<JobsService, 'create'>; audit: Pick<AuditService, 'append'> }) {
  return {
    /**
     * A new data key version for the space, and the job that re-encrypts every record under it: new
     * writes use it at once, reads open either version until the job ends and retires the old ones.
     * The rotation, the job and the audit event commit together.
     */
    async rotateDataKey(by: Principal): Promise<{ version: number; job: Job }> {
      return deps.db.transaction(async (tx) => {
        const version = await deps.keys.rotateDataKey(by.spaceId, tx)
        const job = await deps.jobs.create(tx, by.spaceId, { kind: REENCRYPT_JOB, params: { version } })
        await deps.audit.append(tx, by.spaceId, { event: 'vault/data_key_rotate', actor: by.actor, resources: [{ kind: 'vault_job', id: job.id }], meta: { version, jobId: job.id } })
        return { version, job }
      })
    },
  }
}

export type VaultKeysService = ReturnType<typeof createVaultKeysService>
