import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import type { AuditService } from '../audit/audit-service.js'
import { registerMembersRoutes } from './members-routes.js'
import { createMembersService } from './members-service.js'
import { createMembersStore } from './members-store.js'
import type { UserAccessHooks } from './members-types.js'

export function createMembersModule(deps: { db: Db; audit: AuditService; userAccess: UserAccessHooks }) {
  const store = createMembersStore()
  const service = createMembersService({ ...deps, store })
  return { store, service, register: (app: App) => registerMembersRoutes(app, { members: service }) }
}
