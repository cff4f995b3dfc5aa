import type { OidcFromConfig } from '../../config.js'
import type { Db } from '../../db/db.js'
import { constraintMessage } from '../../db/db-errors.js'
import { badRequest, conflict, notFound } from '../../http/errors.js'
import { assertOutboundUrl, type OutboundPolicy } from '../../lib/outbound/index.js'
import type { AuditService } from '../audit/audit-service.js'
import type { AuditActor } from '../audit/audit-types.js'
import type { Principal } from '../auth/auth-types.js'
import { assertMayProduce } from '../auth/credential-policy.js'
import { isLoopbackHost } from './sso-policy.js'
import type { SecretSealer } from '../keys/keys-types.js'
import { ssoSecretContext, withoutSecret, type SsoStore } from './sso-store.js'
import type { ProviderChanges, ProviderInput, SsoProvider } from './sso-types.js'

export const DEFAULT_SCOPES = ['openid', 'email', 'profile']
/** The space a GATEHOUSE_OIDC_* provider belongs to. */
export const CONFIG_SPACE = 'default'

export interface SsoProvidersDeps {
  db: Db
  store: SsoStore
  audit: Pick<AuditService, 'append'>
  outboundPolicy: OutboundPolicy
  /** Client secrets are stored sealed under the master key. */
  secrets: Pick<SecretSealer, 'sealSecret'>
}

/** Providers of a space and its sign-in settings: what admins configure. */
export function createSsoProvidersService({ db, store, audit, outboundPolicy, secrets }: SsoProvidersDeps) {
  const mustGetProvider = async (spaceId: string, id: string) => (await store.getProvider(db, spaceId, id)) ?? Promise.reject(notFound('SSO provider', id))

  /** Issuer must be https (plain http only to a loopback IdP) and allowed by the outbound policy. */
  function checkIssuer(raw: string): string {
    const url = assertOutboundUrl(raw, outboundPolicy, 'issuer')
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) throw badRequest('issuer must be an https URL (plain http only for a loopback IdP)', { field: 'issuer' })
    if (url.search || url.hash) throw badRequest('issuer must not carry a query or fragment', { field: 'issuer' })
    return raw
  }

  function checkScopes(scopes: string[]): string[] {
    if (!scopes.includes('openid')) throw badRequest("scopes must include 'openid'", { field: 'scopes' })
    return scopes
  }

  /**
   * A provider is a way to sign in: whoever controls its issuer can sign in as a new user with any
   * mapped role, as a linked user (any role), or as an existing user when linking is allowed. So
   * configuring one produces credentials up to an admin's with every scope, and needs that.
   */
  const assertMayConfigure = (by: Principal, id: string) => assertMayProduce(by, { role: 'admin', scopes: ['*'] }, `or change SSO provider '${id}', which can sign in as any user of the space`)

  return {
    async createProvider(by: Principal, input: ProviderInput): Promise<SsoProvider> {
      assertMayConfigure(by, input.id)
      const row = {
        id: input.id,
        displayName: input.displayName,
        issuer: checkIssuer(input.issuer),
        clientId: input.clientId,
        clientSecret: input.clientSecret === undefined ? null : await secrets.sealSecret(input.clientSecret, ssoSecretContext(by.spaceId, input.id)),
        scopes: checkScopes(input.scopes ?? DEFAULT_SCOPES),
        enabled: input.enabled ?? true,
        requireVerifiedEmail: input.requireVerifiedEmail ?? true,
        linkExistingUsers: input.linkExistingUsers ?? false,
        groupsClaim: input.groupsClaim === undefined ? 'groups' : input.groupsClaim,
        roleClaim: input.roleClaim ?? null,
        roleMap: input.roleMap ?? {},
      }
      try {
        await db.transaction(async (tx) => {
          await store.insertProvider(tx, by.spaceId, row)
          const { clientSecret: _s, ...recorded } = row
          await audit.append(tx, by.spaceId, { event: 'sso/provider_create', actor: by.actor, resources: [{ kind: 'sso_provider', id: row.id }], meta: { ...recorded, hasClientSecret: row.clientSecret !== null } })
        })
      } catch (error) {
        throw constraintMessage(error, { unique: `an SSO provider '${input.id}' already exists in this space` })
      }
      return withoutSecret(await mustGetProvider(by.spaceId, row.id))
    },

    listProviders: async (spaceId: string): Promise<SsoProvider[]> => (await store.listProviders(db, spaceId)).map(withoutSecret),
    getProvider: async (spaceId: string, id: string): Promise<SsoProvider> => withoutSecret(await mustGetProvider(spaceId, id)),

    /** For the sign-in page: enabled providers' ids and names, nothing else. */
    async publicProviders(spaceId: string): Promise<Array<{ id: string; displayName: string }>> {
      return (await store.listProviders(db, spaceId)).filter((p) => p.enabled).map((p) => ({ id: p.id, displayName: p.displayName }))
    },

    async updateProvider(by: Principal, id: string, changes: ProviderChanges): Promise<SsoProvider> {
      assertMayConfigure(by, id)
      if (changes.issuer !== undefined) checkIssuer(changes.issuer)
      if (changes.scopes !== undefined) checkScopes(changes.scopes)
      const stored = typeof changes.clientSecret === 'string' ? { ...changes, clientSecret: await secrets.sealSecret(changes.clientSecret, ssoSecretContext(by.spaceId, id)) } : changes
      await db.transaction(async (tx) => {
        if (!(await store.updateProvider(tx, by.spaceId, id, stored))) throw notFound('SSO provider', id)
        const { clientSecret, ...recorded } = changes
        await audit.append(tx, by.spaceId, { event: 'sso/provider_update', actor: by.actor, resources: [{ kind: 'sso_provider', id }], meta: { ...recorded, ...(clientSecret !== undefined ? { clientSecretChanged: true } : {}) } })
      })
      return withoutSecret(await mustGetProvider(by.spaceId, id))
    },

    async deleteProvider(by: Principal, id: string): Promise<void> {
      await db.transaction(async (tx) => {
        if (!(await store.deleteProvider(tx, by.spaceId, id))) throw notFound('SSO provider', id)
        await audit.append(tx, by.spaceId, { event: 'sso/provider_delete', actor: by.actor, resources: [{ kind: 'sso_provider', id }] })
      })
    },

    getSettings: (spaceId: string) => store.getSettings(db, spaceId),

    /**
     * At start: the GATEHOUSE_OIDC_* provider exists in the default space with the configured issuer,
     * client id and name (created or brought in line, audited). Its secret is not stored: it is read
     * from configuration at each use. An invalid issuer stops the start with the reason.
     */
    async ensureConfiguredProvider(cfg: OidcFromConfig): Promise<'created' | 'updated' | 'current' | 'no_space'> {
      checkIssuer(cfg.issuer)
      if (!(await store.spaceExists(db, CONFIG_SPACE))) return 'no_space'
      const actor: AuditActor = { kind: 'system', id: 'configuration', display: 'GATEHOUSE_OIDC_*' }
      const existing = await store.getProvider(db, CONFIG_SPACE, cfg.providerId)
      if (!existing) {
        await db.transaction(async (tx) => {
          const row = { id: cfg.providerId, displayName: cfg.displayName, issuer: cfg.issuer, clientId: cfg.clientId, clientSecret: null, scopes: DEFAULT_SCOPES, enabled: true, requireVerifiedEmail: true, linkExistingUsers: false, groupsClaim: 'groups', roleClaim: null, roleMap: {} }
          await store.insertProvider(tx, CONFIG_SPACE, row)
          await audit.append(tx, CONFIG_SPACE, { event: 'sso/provider_create', actor, resources: [{ kind: 'sso_provider', id: cfg.providerId }], meta: { ...row, clientSecret: undefined, fromConfiguration: true } })
        })
        return 'created'
      }
      const changes = { displayName: cfg.displayName, issuer: cfg.issuer, clientId: cfg.clientId }
      if (existing.displayName === changes.displayName && existing.issuer === changes.issuer && existing.clientId === changes.clientId && existing.clientSecret === null) return 'current'
      await db.transaction(async (tx) => {
        await store.updateProvider(tx, CONFIG_SPACE, cfg.providerId, { ...changes, clientSecret: null })
        await audit.append(tx, CONFIG_SPACE, { event: 'sso/provider_update', actor, resources: [{ kind: 'sso_provider', id: cfg.providerId }], meta: { ...changes, fromConfiguration: true } })
      })
      return 'updated'
    },

    /** Turning password sign-in off needs an enabled provider, so nobody is locked out by accident. */
    async putSettings(by: Principal, settings: { passwordSignIn: boolean }) {
      if (!settings.passwordSignIn && !(await store.listProviders(db, by.spaceId)).some((p) => p.enabled)) {
        throw conflict('password sign-in cannot be turned off while the space has no enabled SSO provider')
      }
      await db.transaction(async (tx) => {
        await store.putSettings(tx, by.spaceId, settings)
        await audit.append(tx, by.spaceId, { event: 'sso/settings_update', actor: by.actor, meta: settings })
      })
      return store.getSettings(db, by.spaceId)
    },
  }
}

export type SsoProvidersService = ReturnType<typeof createSsoProvidersService>
