import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import type { AuditService } from '../audit/audit-service.js'
import { registerResourcesRoutes, resourcesSchemas } from './resources-routes.js'
import { createResourcesService } from './resources-service.js'
import { createResourcesStore } from './resources-store.js'

export function createResourcesModule(deps: { db: Db; audit: AuditService }) {
  const store = createResourcesStore()
  const service = createResourcesService({ ...deps, store })
  return { store, service, schemas: resourcesSchemas, register: (app: App) => registerResourcesRoutes(app, { resources: service }) }
}
