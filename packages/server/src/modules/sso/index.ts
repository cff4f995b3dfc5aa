import type { OidcFromConfig } from '../../config.js'
import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import type { OutboundClient } from '../../lib/outbound/index.js'
import type { AuditService } from '../audit/audit-service.js'
import type { AuthService } from '../auth/auth-service.js'
import type { MembersStore } from '../members/members-store.js'
import type { UserAccessHooks } from '../members/members-types.js'
import type { SecretSealer } from '../keys/keys-types.js'
import { createRelyingParty } from './sso-oidc.js'
import { registerSsoRoutes, ssoSchemas } from './sso-routes.js'
import { createSsoProvidersService } from './sso-providers-service.js'
import { createSsoService } from './sso-service.js'
import { createSsoStore } from './sso-store.js'

export function createSsoModule(deps: {
  db: Db
  audit: AuditService
  /** Late-bound in app.ts: auth is built after this module, which gives it `passwordSignInAllowed`. */
  auth: () => Pick<AuthService, 'signInVerified'>
  members: MembersStore
  userAccess: UserAccessHooks
  outbound: OutboundClient
  clock: () => Date
  publicUrl?: string | null
  fromConfig?: OidcFromConfig | null
  /** The key service: client secrets are stored sealed under the master key. */
  secrets: SecretSealer
}) {
  const store = createSsoStore()
  const providers = createSsoProvidersService({ db: deps.db, store, audit: deps.audit, outboundPolicy: deps.outbound.policy, secrets: deps.secrets })
  deps.secrets.registerSecretHolder({ name: 'SSO client secrets', resealAll: (q, reseal) => store.resealSecrets(q, reseal) })
  const signIn = createSsoService({
    db: deps.db,
    store,
    members: deps.members,
    userAccess: deps.userAccess,
    auth: { signInVerified: (...args) => deps.auth().signInVerified(...args) },
    audit: deps.audit,
    relyingParty: createRelyingParty(deps.outbound),
    clock: deps.clock,
    fromConfig: deps.fromConfig ?? null,
    secrets: deps.secrets,
  })
  const service = { ...providers, ...signIn }
  return {
    service,
    schemas: ssoSchemas,
    /** For the auth module: whether password sign-in is on in a space (read per request, so every node agrees). */
    passwordSignInAllowed: async (spaceId: string) => (await store.getSettings(deps.db, spaceId)).passwordSignIn,
    register: (app: App) => registerSsoRoutes(app, { sso: service, publicUrl: deps.publicUrl ?? null }),
  }
}
