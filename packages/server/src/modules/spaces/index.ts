import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import type { AuditService } from '../audit/audit-service.js'
import type { AuthService } from '../auth/auth-service.js'
import type { MembersStore } from '../members/members-store.js'
import { registerSpacesRoutes } from './spaces-routes.js'
import { createSpacesService } from './spaces-service.js'
import { createSpacesStore } from './spaces-store.js'

export function createSpacesModule(deps: { db: Db; audit: AuditService; auth: AuthService; members: MembersStore }) {
  const store = createSpacesStore()
  const service = createSpacesService({ ...deps, store })
  return { store, service, register: (app: App) => registerSpacesRoutes(app, { spaces: service }) }
}
