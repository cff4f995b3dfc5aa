import type { Db, Queryable } from '../../db/db.js'
import { AppError, notFound } from '../../http/errors.js'
import { newId } from '../../lib/ids.js'
import { keysetPage } from '../../lib/paging.js'
import { DUMMY_PASSWORD_HASH, newSecret, sha256Hex, verifyPassword } from '../../lib/secrets.js'
import type { AuditService } from '../audit/audit-service.js'
import type { AuditActor } from '../audit/audit-types.js'
import type { MembersStore } from '../members/members-store.js'
import { normaliseEmail } from '../members/members-service.js'
import type { ChangeFeed } from '../../db/change-feed.js'
import { createTopicCache } from '../../lib/topic-cache.js'
import type { AuthStore, TokenForAuth } from './auth-store.js'
import { assertMayProduce } from './credential-policy.js'
import { AUTH_TOPIC, type IssuedToken, type Principal, type TokenInfo, type TokenScope } from './auth-types.js'

export interface AuthServiceDeps {
  db: Db
  store: AuthStore
  members: Pick<MembersStore, 'findUserForSignIn' | 'getUser' | 'getServiceAccount'>
  audit: Pick<AuditService, 'append' | 'record'>
  clock: () => Date
  /** Lifetime of a user access token from sign-in, and the default for one an admin issues. */
  userTokenTtlSeconds: number
  /** Whether the space lets people sign in with a password (the SSO module can turn it off); absent: always. */
  passwordSignInAllowed?: (spaceId: string) => Promise<boolean>
  /** Invalidates the token cache of every node (revocations) and tells this one when others change. */
  changes: Pick<ChangeFeed, 'touch' | 'announce' | 'generation' | 'fresh' | 'subscribe'>
  /** How many authenticated tokens each process keeps (default 10,000). */
  tokenCacheEntries?: number
}

export const USER_TOKEN_PREFIX = 'ghu'
export const SERVICE_TOKEN_PREFIX = 'ghs'
export const MAX_USER_TOKEN_TTL_SECONDS = 24 * 3600

/**
 * The checks a token passes at every use, cached row or not: revocation, expiry against the injected
 * clock (a token that expires at T is refused at T whatever the cache holds), a deactivated subject.
 */
export function checkedPrincipal(token: TokenForAuth, now: Date): Principal {
  if (token.revokedAt) throw new AppError('token_revoked', `token ${token.id} was revoked at ${token.revokedAt}`)
  if (token.expiresAt && new Date(token.expiresAt) <= now) {
    throw new AppError('token_expired', `token ${token.id} expired at ${token.expiresAt}; sign in again or ask for a new token`)
  }
  if (token.subjectDisabledAt) throw new AppError('unauthenticated', `token ${token.id} acts as a user who was deactivated at ${token.subjectDisabledAt}`)
  const isUser = token.kind === 'user'
  return {
    spaceId: token.spaceId,
    kind: token.kind,
    subjectId: token.subjectId,
    userId: isUser ? token.subjectId : null,
    email: isUser ? token.subjectDisplay.toLowerCase() : null,
    tokenId: token.id,
    role: token.subjectRole,
    scopes: token.scopes,
    actor: { kind: token.kind, id: token.subjectId, display: token.subjectDisplay, tokenId: token.id },
  }
}

export function createAuthService({ db, store, members, audit, clock, userTokenTtlSeconds, passwordSignInAllowed, changes, tokenCacheEntries }: AuthServiceDeps) {
  // Token hash → the token row with its subject, as the database last said. Unknown hashes are not
  // kept (a guessed token costs a query, never a cache slot); a revoke, a subject's change or deletion
  // touches AUTH_TOPIC and empties it on every node.
  const tokens = createTopicCache<TokenForAuth>({ feed: changes, maxEntries: tokenCacheEntries ?? 10_000 })
  async function issue(
    tx: Queryable,
    spaceId: string,
    input: { kind: 'user' | 'service_account'; subjectId: string; name: string; scopes: TokenScope[]; expiresAt: Date | null; createdBy: AuditActor },
  ): Promise<IssuedToken> {
    const { secret, hash, displayPrefix } = newSecret(input.kind === 'user' ? USER_TOKEN_PREFIX : SERVICE_TOKEN_PREFIX)
    const info = await store.insertToken(tx, spaceId, {
      id: newId('tok'),
      kind: input.kind,
      subjectId: input.subjectId,
      name: input.name,
      prefix: displayPrefix,
      secretHash: hash,
      scopes: input.scopes,
      createdBy: input.createdBy,
      expiresAt: input.expiresAt,
    })
    await audit.append(tx, spaceId, {
      event: 'token/create',
      actor: input.createdBy,
      resources: [
        { kind: 'token', id: info.id },
        { kind: input.kind, id: input.subjectId },
      ],
      meta: { tokenKind: input.kind, name: input.name, scopes: input.scopes, expiresAt: info.expiresAt },
    })
    return { ...info, token: secret }
  }

  const expiryAfter = (seconds: number) => new Date(clock().getTime() + seconds * 1000)

  return {
    /**
     * Bearer secret → principal, or a 401 that says what is wrong with the token. The subject's role
     * is read with the token, not copied into it, and a role change drops every node's cached copy
     * (AUTH_TOPIC), so a demotion takes effect on the next request here and within the change feed's
     * bound elsewhere.
     */
    async authenticate(secret: string): Promise<Principal> {
      const hash = sha256Hex(secret)
      const token = await tokens.get(AUTH_TOPIC, hash, () => store.findBySecretHash(db, hash))
      if (!token) throw new AppError('unauthenticated', 'token is not valid: it was never issued here or its subject was deleted')
      return checkedPrincipal(token, clock())
    },

    /** Email and password → a short-lived user access token. Wrong email and wrong password look the same. */
    async signIn(spaceId: string, email: string, password: string): Promise<IssuedToken> {
      if (passwordSignInAllowed && !(await passwordSignInAllowed(spaceId))) {
        throw new AppError('password_sign_in_disabled', `password sign-in is turned off in space '${spaceId}': sign in with single sign-on (GET /v1/spaces/${spaceId}/sso/sign-in-options lists the providers)`)
      }
      const normalised = normaliseEmail(email)
      const user = await members.findUserForSignIn(db, spaceId, normalised)
      const passwordOk = await verifyPassword(password, user?.password_hash ?? DUMMY_PASSWORD_HASH)
      if (!user || !user.password_hash || !passwordOk) {
        if (await store.spaceExists(db, spaceId)) {
          // A bare event (nothing else changes): one autocommit statement.
          await audit.record(spaceId, {
            event: 'auth/sign_in_failed',
            actor: { kind: 'anonymous', id: 'anonymous' },
            resources: user ? [{ kind: 'user', id: user.id }] : [],
            meta: { email: normalised },
          })
        }
        throw new AppError('invalid_credentials', 'email or password is wrong')
      }
      if (user.disabled_at) throw new AppError('unauthenticated', 'this user was deactivated: ask an admin of this space to reactivate it')
      const actor: AuditActor = { kind: 'user', id: user.id, display: user.email }
      return db.transaction(async (tx) => {
        const issued = await issue(tx, spaceId, {
          kind: 'user',
          subjectId: user.id,
          name: 'sign-in',
          scopes: ['*'],
          expiresAt: expiryAfter(userTokenTtlSeconds),
          createdBy: actor,
        })
        await audit.append(tx, spaceId, { event: 'auth/sign_in', actor: { ...actor, tokenId: issued.id }, resources: [{ kind: 'user', id: user.id }] })
        return issued
      })
    },

    /**
     * A user whose identity another module has verified (single sign-on) gets a sign-in token, inside
     * the caller's transaction so the token and the sign-in event commit with that module's changes.
     */
    async signInVerified(tx: Queryable, spaceId: string, user: { id: string; email: string }, meta: Record<string, unknown>): Promise<IssuedToken> {
      const actor: AuditActor = { kind: 'user', id: user.id, display: user.email }
      const issued = await issue(tx, spaceId, { kind: 'user', subjectId: user.id, name: 'sign-in', scopes: ['*'], expiresAt: expiryAfter(userTokenTtlSeconds), createdBy: actor })
      await audit.append(tx, spaceId, { event: 'auth/sign_in', actor: { ...actor, tokenId: issued.id }, resources: [{ kind: 'user', id: user.id }], meta })
      return issued
    },

    /** An admin issues a user access token acting as that user (support tooling, scripts, tests). */
    async issueUserToken(by: Principal, userId: string, input: { name?: string; ttlSeconds?: number }): Promise<IssuedToken> {
      const user = await members.getUser(db, by.spaceId, userId)
      if (!user) throw notFound('user', userId)
      // A user token carries the user's role and every scope: minting one needs all of that.
      assertMayProduce(by, { role: user.role, scopes: ['*'] }, `a token for user ${userId}, who is '${user.role}'`)
      return db.transaction((tx) =>
        issue(tx, by.spaceId, {
          kind: 'user',
          subjectId: userId,
          name: input.name ?? 'issued by an admin',
          scopes: ['*'],
          expiresAt: expiryAfter(input.ttlSeconds ?? userTokenTtlSeconds),
          createdBy: by.actor,
        }),
      )
    },

    /** Long-lived unless `ttlSeconds` is given. A token can only carry a role and scopes its issuer holds. */
    async issueServiceAccountToken(
      by: Principal,
      accountId: string,
      input: { name: string; scopes?: TokenScope[]; ttlSeconds?: number },
    ): Promise<IssuedToken> {
      const account = await members.getServiceAccount(db, by.spaceId, accountId)
      if (!account) throw notFound('service account', accountId)
      const scopes = input.scopes ?? ['*']
      assertMayProduce(by, { role: account.role, scopes }, `a token for service account ${accountId}, which is '${account.role}'`)
      return db.transaction((tx) =>
        issue(tx, by.spaceId, {
          kind: 'service_account',
          subjectId: accountId,
          name: input.name,
          scopes,
          expiresAt: input.ttlSeconds ? expiryAfter(input.ttlSeconds) : null,
          createdBy: by.actor,
        }),
      )
    },

    /** For space creation and first start: a service account token issued inside the caller's transaction. */
    issueBootstrapToken: (tx: Queryable, spaceId: string, accountId: string, scopes: TokenScope[], createdBy: AuditActor) =>
      issue(tx, spaceId, { kind: 'service_account', subjectId: accountId, name: 'bootstrap admin', scopes, expiresAt: null, createdBy }),

    async getToken(spaceId: string, tokenId: string): Promise<TokenInfo> {
      return (await store.getToken(db, spaceId, tokenId)) ?? Promise.reject(notFound('token', tokenId))
    },

    async listTokens(spaceId: string, subjectId: string | null, cursor: string | null, limit: number) {
      const { items, nextCursor } = await keysetPage((n) => store.listTokens(db, spaceId, subjectId, cursor, n), limit)
      return { tokens: items, nextCursor }
    },

    /** Idempotent: revoking a revoked token answers with it and records nothing new. */
    async revoke(by: Principal, tokenId: string): Promise<TokenInfo> {
      const token = await db.transaction(async (tx) => {
        const result = await store.revoke(tx, by.spaceId, tokenId, clock())
        if (!result) throw notFound('token', tokenId)
        if (result.changed) {
          await changes.touch(tx, AUTH_TOPIC)
          await audit.append(tx, by.spaceId, {
            event: 'token/revoke',
            actor: by.actor,
            resources: [
              { kind: 'token', id: tokenId },
              { kind: result.token.kind, id: result.token.subjectId },
            ],
          })
        }
        return result.token
      })
      changes.announce(AUTH_TOPIC)
      return token
    },
  }
}

export type AuthService = ReturnType<typeof createAuthService>
