import { createHash, randomBytes } from 'node:crypto'
import type { OidcFromConfig } from '../../config.js'
import type { Db, Queryable } from '../../db/db.js'
import { AppError, badRequest, notFound } from '../../http/errors.js'
import { newId } from '../../lib/ids.js'
import { sha256Hex } from '../../lib/secrets.js'
import type { AuditService } from '../audit/audit-service.js'
import type { AuditActor } from '../audit/audit-types.js'
import type { AuthService } from '../auth/auth-service.js'
import type { IssuedToken } from '../auth/auth-types.js'
import type { MembersStore } from '../members/members-store.js'
import { normaliseEmail } from '../members/members-service.js'
import type { UserAccessHooks } from '../members/members-types.js'
import { pkce, type RelyingParty } from './sso-oidc.js'
import { checkCliRedirect, checkReturnTo, claimValues, decideIdentity, mapRole, planGroupSync, classifyOidcError } from './sso-policy.js'
import { CONFIG_SPACE } from './sso-providers-service.js'
import type { SecretSealer } from '../keys/keys-types.js'
import { ssoSecretContext, type SsoStore } from './sso-store.js'
import type { RefusalReason, SsoProviderSecretView } from './sso-types.js'

export interface SsoServiceDeps {
  db: Db
  store: SsoStore
  members: Pick<MembersStore, 'findUserForSignIn' | 'insertUser' | 'getUser' | 'updateUser' | 'listGroups' | 'addGroupMember' | 'removeGroupMember'>
  userAccess: UserAccessHooks
  auth: Pick<AuthService, 'signInVerified'>
  audit: Pick<AuditService, 'append'>
  relyingParty: RelyingParty
  clock: () => Date
  /** The GATEHOUSE_OIDC_* provider of the default space: its client secret is read from here, never stored. */
  fromConfig?: OidcFromConfig | null
  /** Opens the stored (sealed) client secrets. */
  secrets: Pick<SecretSealer, 'openSecret'>
}

/** How long a started sign-in may take at the IdP, and how long a CLI has to exchange its code. */
export const FLOW_TTL_MS = 10 * 60_000
export const CLI_CODE_TTL_MS = 2 * 60_000

const anonymous: AuditActor = { kind: 'anonymous', id: 'anonymous' }
const b64urlSha256 = (text: string) => createHash('sha256').update(text).digest('base64url')

export interface StartInput {
  returnTo?: string
  cliRedirect?: string
  codeChallenge?: string
  codeChallengeMethod?: string
  cliState?: string
}

export type CallbackResult =
  | { kind: 'browser'; token: IssuedToken; returnTo: string }
  | { kind: 'cli'; location: string }

/** Signing in: the browser and CLI flows, from the start redirect to the user access token. */
export function createSsoService({ db, store, members, userAccess, auth, audit, relyingParty, clock, fromConfig, secrets }: SsoServiceDeps) {
  /** A provider with the secret the relying party uses: stored, or for the configured one, from configuration. */
  const withSecret = async (spaceId: string, provider: SsoProviderSecretView): Promise<SsoProviderSecretView> => {
    if (provider.clientSecret !== null) return { ...provider, clientSecret: await secrets.openSecret(provider.clientSecret, ssoSecretContext(spaceId, provider.id)) }
    return fromConfig && spaceId === CONFIG_SPACE && provider.id === fromConfig.providerId ? { ...provider, clientSecret: fromConfig.clientSecret } : provider
  }

  /** Records the refusal in the space's audit log and answers 401 `sso_failed` with the reason. */
  async function refuse(spaceId: string, providerId: string, reason: RefusalReason, message: string, extra: Record<string, unknown> = {}): Promise<never> {
    if (!(await store.spaceExists(db, spaceId))) throw notFound('space', spaceId)
    await db.transaction((tx) =>
      audit.append(tx, spaceId, { event: 'sso/sign_in_failed', actor: anonymous, resources: [{ kind: 'sso_provider', id: providerId }], meta: { provider: providerId, reason, ...extra } }),
    )
    throw new AppError('sso_failed', `single sign-on refused (${reason}): ${message}`, { reason, provider: providerId })
  }

  async function allGroupsByName(tx: Queryable, spaceId: string): Promise<Map<string, string>> {
    const byName = new Map<string, string>()
    let after: string | null = null
    for (;;) {
      const page = await members.listGroups(tx, spaceId, after, 500)
      for (const group of page) byName.set(group.name, group.id)
      if (page.length < 500) return byName
      after = page[page.length - 1]!.id
    }
  }

  /** Creates or links the user, syncs role and groups, records the sign-in; inside one transaction. */
  async function admit(tx: Queryable, spaceId: string, provider: SsoProviderSecretView, claims: Record<string, unknown>, decision: { kind: 'existing' | 'link'; userId: string } | { kind: 'create' }, email: string) {
    const subject = String(claims.sub)
    const system: AuditActor = { kind: 'system', id: `sso:${provider.id}` }
    const via = { via: 'sso', provider: provider.id }
    const role = mapRole(claims, { roleClaim: provider.roleClaim, roleMap: provider.roleMap })
    let userId: string
    if (decision.kind === 'create') {
      userId = newId('usr')
      const name = typeof claims.name === 'string' && claims.name.trim() !== '' ? claims.name.trim().slice(0, 200) : email
      await members.insertUser(tx, spaceId, { id: userId, email, name, role, passwordHash: null })
      await audit.append(tx, spaceId, { event: 'user/create', actor: system, resources: [{ kind: 'user', id: userId }], meta: { email, role, password: false, ...via, subject } })
      await userAccess.bindNewUser(tx, spaceId, userId, email)
    } else {
      userId = decision.userId
      if (decision.kind === 'link') {
        await audit.append(tx, spaceId, { event: 'sso/identity_link', actor: system, resources: [{ kind: 'user', id: userId }, { kind: 'sso_provider', id: provider.id }], meta: { ...via, subject, email } })
      }
      // The role follows the IdP only when the provider maps one; otherwise it is Gatehouse's to manage.
      const current = await members.getUser(tx, spaceId, userId)
      if (provider.roleClaim && current && current.role !== role) {
        await members.updateUser(tx, spaceId, userId, { role })
        await audit.append(tx, spaceId, { event: 'user/update', actor: system, resources: [{ kind: 'user', id: userId }], meta: { role, previousRole: current.role, ...via } })
      }
    }
    await store.linkIdentity(tx, spaceId, provider.id, subject, userId, email)
    if (provider.groupsClaim) {
      const user = await members.getUser(tx, spaceId, userId)
      const plan = planGroupSync(claimValues(claims, provider.groupsClaim), await allGroupsByName(tx, spaceId), user?.groups ?? [])
      for (const groupId of plan.add) {
        await members.addGroupMember(tx, spaceId, groupId, userId)
        await audit.append(tx, spaceId, { event: 'group/member_add', actor: system, resources: [{ kind: 'group', id: groupId }, { kind: 'user', id: userId }], meta: via })
      }
      for (const groupId of plan.remove) {
        await members.removeGroupMember(tx, spaceId, groupId, userId)
        await audit.append(tx, spaceId, { event: 'group/member_remove', actor: system, resources: [{ kind: 'group', id: groupId }, { kind: 'user', id: userId }], meta: via })
      }
      if (plan.unknown.length > 0) {
        await audit.append(tx, spaceId, { event: 'sso/groups_unmatched', actor: system, resources: [{ kind: 'user', id: userId }], meta: { ...via, groups: plan.unknown.slice(0, 50) } })
      }
    }
    await audit.append(tx, spaceId, { event: 'sso/sign_in', actor: { kind: 'user', id: userId, display: email }, resources: [{ kind: 'user', id: userId }, { kind: 'sso_provider', id: provider.id }], meta: { ...via, subject, created: decision.kind === 'create' } })
    return { id: userId, email }
  }

  return {

    /** Starts a sign-in: the flow is stored (any node can finish it) and the browser goes to the IdP. */
    async start(spaceId: string, providerId: string, input: StartInput, redirectUri: string): Promise<{ location: string; state: string }> {
      const provider = await store.getProvider(db, spaceId, providerId)
      if (!provider) throw notFound('SSO provider', providerId)
      if (!provider.enabled) throw new AppError('forbidden', `SSO provider '${providerId}' is disabled in this space`)
      const returnTo = checkReturnTo(input.returnTo)
      if (returnTo === null) {
        await refuseOpenRedirect(spaceId, providerId, input.returnTo ?? '')
      }
      let cli: { redirect: string; challenge: string; state: string | null } | null = null
      if (input.cliRedirect !== undefined) {
        const redirect = checkCliRedirect(input.cliRedirect)
        if (!redirect) throw badRequest('cli_redirect must be http://127.0.0.1:PORT/… (or [::1] or localhost): a loopback redirect', { field: 'cli_redirect' })
        if (!input.codeChallenge || (input.codeChallengeMethod ?? 'S256') !== 'S256') throw badRequest('a CLI sign-in needs code_challenge with code_challenge_method=S256', { field: 'code_challenge' })
        cli = { redirect: redirect.toString(), challenge: input.codeChallenge, state: input.cliState ?? null }
      }
      const state = pkce.state()
      const nonce = pkce.nonce()
      const codeVerifier = pkce.verifier()
      const location = await relyingParty.authorizationUrl(await withSecret(spaceId, provider), { redirectUri, state, nonce, codeChallenge: await pkce.challenge(codeVerifier) }).catch((error) => {
        throw new AppError('unavailable', `could not reach the identity provider of '${providerId}' (${classifyOidcError(error)}); try again later`)
      })
      await store.insertFlow(db, {
        stateHash: sha256Hex(state),
        spaceId,
        providerId,
        nonce,
        codeVerifier,
        redirectUri,
        returnTo: returnTo ?? '/console/',
        cliRedirect: cli?.redirect ?? null,
        cliChallenge: cli?.challenge ?? null,
        cliState: cli?.state ?? null,
        expiresAt: new Date(clock().getTime() + FLOW_TTL_MS),
      })
      return { location: location.toString(), state }
    },

    /**
     * Finishes a sign-in. `query` is what the IdP sent back; `browserState` is the state the browser
     * that started the flow kept in its cookie (binds the flow to that browser: no login CSRF).
     */
    async callback(spaceId: string, providerId: string, query: Record<string, string>, browserState: string | undefined): Promise<CallbackResult> {
      const state = query.state
      if (!state) return refuse(spaceId, providerId, 'bad_state', 'the callback carries no state')
      const found = await store.consumeFlow(db, spaceId, sha256Hex(state), clock())
      if (!found) return refuse(spaceId, providerId, 'bad_state', 'no sign-in was started with this state')
      if (!found.firstUse) return refuse(spaceId, providerId, 'replayed', 'this sign-in was already finished once; start again')
      const { flow } = found
      if (flow.providerId !== providerId) return refuse(spaceId, providerId, 'bad_state', 'the state belongs to a sign-in with another provider')
      if (browserState !== state) return refuse(spaceId, providerId, 'bad_state', 'the state does not match the one this browser started with')
      if (flow.expiresAt <= clock()) return refuse(spaceId, providerId, 'flow_expired', 'the sign-in took too long; start again')
      const provider = await store.getProvider(db, spaceId, providerId)
      if (!provider) return refuse(spaceId, providerId, 'unknown_provider', `SSO provider '${providerId}' no longer exists in this space`)
      if (!provider.enabled) return refuse(spaceId, providerId, 'provider_disabled', `SSO provider '${providerId}' was disabled`)
      if (query.error) return refuse(spaceId, providerId, 'idp_error', `the identity provider answered '${String(query.error).slice(0, 100)}'`)

      const callbackUrl = new URL(flow.redirectUri)
      for (const [name, value] of Object.entries(query)) callbackUrl.searchParams.set(name, value)
      let claims: Record<string, unknown>
      try {
        claims = await relyingParty.exchange(await withSecret(spaceId, provider), callbackUrl, { state, nonce: flow.nonce, codeVerifier: flow.codeVerifier })
      } catch (error) {
        const reason = classifyOidcError(error)
        return refuse(spaceId, providerId, reason, (error as Error).message ?? 'the ID token was refused')
      }
      const subject = String(claims.sub)
      const email = typeof claims.email === 'string' ? normaliseEmail(claims.email) : ''
      if (!email) return refuse(spaceId, providerId, 'email_missing', 'the ID token carries no email (ask for the email scope)', { subject })
      const emailVerified = claims.email_verified === true
      if (provider.requireVerifiedEmail && !emailVerified) return refuse(spaceId, providerId, 'email_unverified', `the identity provider has not verified ${email}`, { subject, email })

      const linked = await store.findIdentity(db, spaceId, providerId, subject)
      const byEmail = await members.findUserForSignIn(db, spaceId, email)
      const decision = decideIdentity({
        linked,
        sameEmail: byEmail && byEmail.id !== linked?.userId ? { userId: byEmail.id, disabled: byEmail.disabled_at !== null } : null,
        emailVerified,
        linkExistingUsers: provider.linkExistingUsers,
      })
      if (decision.kind === 'refuse') return refuse(spaceId, providerId, decision.reason, decision.message, { subject, email })

      const result = await db.transaction(async (tx): Promise<CallbackResult> => {
        const user = await admit(tx, spaceId, provider, claims, decision, email)
        if (flow.cliRedirect && flow.cliChallenge) {
          const code = randomBytes(32).toString('base64url')
          await store.insertCliCode(tx, { codeHash: sha256Hex(code), spaceId, userId: user.id, providerId, challenge: flow.cliChallenge, redirectUri: flow.cliRedirect, expiresAt: new Date(clock().getTime() + CLI_CODE_TTL_MS) })
          const location = new URL(flow.cliRedirect)
          location.searchParams.set('code', code)
          if (flow.cliState) location.searchParams.set('state', flow.cliState)
          return { kind: 'cli', location: location.toString() }
        }
        const token = await auth.signInVerified(tx, spaceId, user, { method: 'sso', provider: providerId })
        return { kind: 'browser', token, returnTo: flow.returnTo }
      })
      userAccess.committed()
      return result
    },

    /** A CLI's one-time code and its PKCE verifier → a user access token (RFC 8252 loopback flow). */
    async exchangeCliCode(spaceId: string, input: { code: string; codeVerifier: string; redirectUri: string }): Promise<IssuedToken> {
      const invalid = (why: string) => new AppError('sso_failed', `the code cannot be exchanged: ${why}`, { reason: 'invalid_code' })
      // Spent before it is checked, outside the transaction: a failed attempt burns the code too.
      const code = await store.consumeCliCode(db, spaceId, sha256Hex(input.code), clock())
      if (!code) throw invalid('it is unknown or was already used')
      if (code.expiresAt <= clock()) throw invalid('it expired; sign in again')
      if (code.redirectUri !== input.redirectUri) throw invalid('redirect_uri differs from the one the sign-in started with')
      if (b64urlSha256(input.codeVerifier) !== code.challenge) throw invalid('code_verifier does not match the code_challenge')
      return db.transaction(async (tx) => {
        const user = await members.getUser(tx, spaceId, code.userId)
        if (!user || user.disabledAt) throw invalid('the user no longer exists or was deactivated')
        return auth.signInVerified(tx, spaceId, { id: user.id, email: user.email }, { method: 'sso_cli', provider: code.providerId })
      })
    },
  }

  async function refuseOpenRedirect(spaceId: string, providerId: string, returnTo: string): Promise<never> {
    await db.transaction((tx) =>
      audit.append(tx, spaceId, { event: 'sso/sign_in_failed', actor: anonymous, resources: [{ kind: 'sso_provider', id: providerId }], meta: { provider: providerId, reason: 'bad_return_to', returnTo: returnTo.slice(0, 200) } }),
    )
    throw badRequest('returnTo must be a path under /console on this server (no absolute or scheme-relative URLs)', { field: 'returnTo', reason: 'bad_return_to' })
  }
}

export type SsoService = ReturnType<typeof createSsoService>
