import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import type { AuditService } from '../audit/audit-service.js'
import type { MembersStore } from '../members/members-store.js'
import { authSchemas, registerAuthRoutes, type SignInRateLimit } from './auth-routes.js'
import { createAuthService } from './auth-service.js'
import { createAuthStore } from './auth-store.js'
import { registerSessionRoutes, sessionSchemas } from './session-routes.js'

export function createAuthModule(deps: {
  db: Db
  audit: AuditService
  members: MembersStore
  clock: () => Date
  userTokenTtlSeconds: number
  signInRateLimit: SignInRateLimit
  passwordSignInAllowed?: (spaceId: string) => Promise<boolean>
  changes: ChangeFeed
}) {
  const service = createAuthService({ ...deps, store: createAuthStore() })
  return {
    service,
    schemas: [...authSchemas, ...sessionSchemas],
    register: (app: App) => {
      registerAuthRoutes(app, { auth: service, signInRateLimit: deps.signInRateLimit })
      registerSessionRoutes(app, { auth: service, signInRateLimit: deps.signInRateLimit })
    },
  }
}
