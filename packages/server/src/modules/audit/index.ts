import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import { auditSchemas, registerAuditRoutes } from './audit-routes.js'
import { createAuditService } from './audit-service.js'
import type { CheckpointSigner } from './audit-signer.js'
import { createAuditStore } from './audit-store.js'

export function createAuditModule(deps: { db: Db; signer: CheckpointSigner; clock: () => Date }) {
  const service = createAuditService({ ...deps, store: createAuditStore() })
  return { service, schemas: auditSchemas, register: (app: App) => registerAuditRoutes(app, { audit: service }) }
}
