import type { FastifyBaseLogger } from 'fastify'
import type { Db, Queryable } from '../../db/db.js'
import type { App } from '../../http/types.js'
import { auditSchemas, registerAuditRoutes } from './audit-routes.js'
import { createSequencer, createSequencerWorker, type CheckpointCadence } from './audit-sequencer.js'
import { createAuditService } from './audit-service.js'
import type { CheckpointSigner } from './audit-signer.js'
import { createAuditStore } from './audit-store.js'
import type { LogCheckpoint } from './audit-types.js'
import { createVerifier } from './audit-verify.js'

export interface AuditLogOptions {
  /** C2SP key name of this deployment (GATEHOUSE_AUDIT_LOG_NAME); a space's log is `<name>/spaces/<id>`. */
  logName?: string
  cadence?: CheckpointCadence
  /** How often the background sequencer sweeps (the merge delay's bound, with one batch). */
  sequencerIntervalMs?: number
}

export const DEFAULT_LOG_NAME = 'gatehouse'
export const DEFAULT_CADENCE: CheckpointCadence = { everyEvents: 1000, everyMs: 60_000 }

export function createAuditModule(deps: {
  db: Db
  signer: CheckpointSigner
  clock: () => Date
  logger?: FastifyBaseLogger
  options?: AuditLogOptions
  announce?: (tx: Queryable, spaceId: string, checkpoint: LogCheckpoint & { origin: string }) => Promise<void>
  published?: (spaceId: string, checkpoint: LogCheckpoint & { origin: string }) => Promise<void> | void
}) {
  const store = createAuditStore()
  const logName = deps.options?.logName ?? DEFAULT_LOG_NAME
  const sequencer = createSequencer({
    db: deps.db,
    store,
    signer: deps.signer,
    clock: deps.clock,
    logName,
    cadence: deps.options?.cadence ?? DEFAULT_CADENCE,
    announce: (tx, spaceId, checkpoint) => deps.announce?.(tx, spaceId, checkpoint) ?? Promise.resolve(),
    published: (spaceId, checkpoint) => deps.published?.(spaceId, checkpoint),
  })
  const worker = createSequencerWorker({ sequencer, store, db: deps.db, intervalMs: deps.options?.sequencerIntervalMs ?? 250, ...(deps.logger ? { logger: deps.logger } : {}) })
  const verify = createVerifier({ db: deps.db, store, signer: deps.signer, logName })
  const service = createAuditService({ db: deps.db, store, signer: deps.signer, clock: deps.clock, sequencer, verify, logName, appended: (spaceId) => worker.wake(spaceId) })
  return { service, sequencer: worker, schemas: auditSchemas, register: (app: App) => registerAuditRoutes(app, { audit: service }) }
}
