import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import type { AuditService } from '../audit/audit-service.js'
import { createMembersDirectory } from './members-directory.js'
import { registerMembersRoutes } from './members-routes.js'
import { createMembersService } from './members-service.js'
import { createMembersStore } from './members-store.js'
import type { UserAccessHooks } from './members-types.js'

export function createMembersModule(deps: { db: Db; audit: AuditService; userAccess: UserAccessHooks; changes: ChangeFeed }) {
  const store = createMembersStore()
  const service = createMembersService({ ...deps, store })
  const directory = createMembersDirectory({ db: deps.db, store, changes: deps.changes })
  return { store, service, directory, register: (app: App) => registerMembersRoutes(app, { members: service }) }
}
