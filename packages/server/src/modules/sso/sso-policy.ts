import { roleAtLeast, type Role } from '../auth/auth-types.js'
import type { RefusalReason } from './sso-types.js'

/** Where a browser may be sent after sign-in: only same-origin paths under /console. */
export const DEFAULT_RETURN_TO = '/console/'

/**
 * The `returnTo` of a sign-in, or null when it is refused. Only a relative path under `/console`
 * passes: absolute URLs, scheme-relative `//evil`, `/\evil` (browsers read `\` as `/`), control
 * characters and dot segments that climb out of /console are all refused, since the callback
 * redirects there with a fresh session cookie set.
 */
export function checkReturnTo(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return DEFAULT_RETURN_TO
  if (raw.length > 2000) return null
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return null
  if (!raw.startsWith('/') || raw.startsWith('//')) return null
  let url: URL
  try {
    url = new URL(raw, 'http://gatehouse.invalid')
  } catch {
    return null
  }
  if (url.origin !== 'http://gatehouse.invalid') return null
  if (url.pathname !== '/console' && !url.pathname.startsWith('/console/')) return null
  return `${url.pathname}${url.search}${url.hash}`
}

/** Loopback host names as URL.hostname spells them: plain http is acceptable only to these. */
export const isLoopbackHost = (hostname: string): boolean => ['127.0.0.1', '[::1]', 'localhost'].includes(hostname)

/**
 * A CLI's loopback redirect (RFC 8252 §7.3): plain http to a loopback address with any port.
 * Anything else would let a sign-in hand its one-time code to another host.
 */
export function checkCliRedirect(raw: string): URL | null {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return null
  }
  if (url.protocol !== 'http:') return null
  if (!isLoopbackHost(url.hostname)) return null
  if (url.username !== '' || url.password !== '' || url.hash !== '') return null
  return url
}

export interface RoleMapping {
  /** The claim whose value(s) choose the role, e.g. `groups` or `gatehouse_role`; null: every user is `member`. */
  roleClaim: string | null
  /** Claim value → role. When several values match, the highest role wins. */
  roleMap: Record<string, Role>
}

/** The values of a claim as strings: a string, or an array of them; anything else counts as absent. */
export function claimValues(claims: Record<string, unknown>, name: string | null): string[] {
  if (!name) return []
  const value = claims[name]
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string')
  return []
}

/** The role the claims map to; `member` when nothing matches. */
export function mapRole(claims: Record<string, unknown>, mapping: RoleMapping): Role {
  let role: Role = 'member'
  for (const value of claimValues(claims, mapping.roleClaim)) {
    const mapped = Object.hasOwn(mapping.roleMap, value) ? mapping.roleMap[value] : undefined
    if (mapped && roleAtLeast(mapped, role)) role = mapped
  }
  return role
}

/**
 * Group changes that make a user's memberships follow the claim: the claim names groups; only groups
 * that exist in the space count (names the IdP sends that have no group here are reported, not created).
 */
export function planGroupSync(
  claimed: readonly string[],
  groupsByName: ReadonlyMap<string, string>,
  currentGroupIds: readonly string[],
): { add: string[]; remove: string[]; unknown: string[] } {
  const wanted = new Set<string>()
  const unknown: string[] = []
  for (const name of new Set(claimed)) {
    const id = groupsByName.get(name)
    if (id) wanted.add(id)
    else unknown.push(name)
  }
  const current = new Set(currentGroupIds)
  return {
    add: [...wanted].filter((id) => !current.has(id)).sort(),
    remove: [...current].filter((id) => !wanted.has(id)).sort(),
    unknown: unknown.sort(),
  }
}

/** What to do with a verified identity. */
export type IdentityDecision =
  | { kind: 'existing'; userId: string }
  | { kind: 'link'; userId: string }
  | { kind: 'create' }
  | { kind: 'refuse'; reason: RefusalReason; message: string }

/**
 * Matching is by (provider, sub) first. A new subject whose email belongs to an existing user is
 * linked to that user only when the provider allows it (and the email is verified); otherwise it is
 * refused, never silently merged. A deactivated user is refused either way.
 */
export function decideIdentity(input: {
  linked: { userId: string; disabled: boolean } | null
  sameEmail: { userId: string; disabled: boolean } | null
  emailVerified: boolean
  linkExistingUsers: boolean
}): IdentityDecision {
  if (input.linked) {
    if (input.linked.disabled) return { kind: 'refuse', reason: 'user_disabled', message: 'this user was deactivated in Gatehouse' }
    return { kind: 'existing', userId: input.linked.userId }
  }
  if (input.sameEmail) {
    if (!input.linkExistingUsers) {
      return { kind: 'refuse', reason: 'email_taken', message: 'a Gatehouse user with this email already exists and this provider may not link to existing users' }
    }
    if (!input.emailVerified) return { kind: 'refuse', reason: 'email_unverified', message: 'linking to an existing user needs a verified email' }
    if (input.sameEmail.disabled) return { kind: 'refuse', reason: 'user_disabled', message: 'this user was deactivated in Gatehouse' }
    return { kind: 'link', userId: input.sameEmail.userId }
  }
  return { kind: 'create' }
}

interface CodedError {
  name?: string
  code?: string
  message?: string
  error?: string
  cause?: unknown
}

/**
 * Which refusal an error from the relying-party library means. openid-client wraps oauth4webapi's
 * errors: the code says the kind of check, the innermost cause names the claim or header at fault.
 */
export function classifyOidcError(error: unknown): RefusalReason {
  const err = (error ?? {}) as CodedError
  // openid-client wraps what its fetch throws ("something went wrong", cause: our OutboundFailure).
  if (causeChain(err).some((e) => e.name === 'OutboundFailure') || err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT') return 'idp_unreachable'
  if (err.name === 'AuthorizationResponseError') return 'idp_error'
  if (err.name === 'ResponseBodyError') return 'token_exchange_failed'
  const detail = innermost(err)
  const claim = typeof detail.claim === 'string' ? detail.claim : undefined
  const alg = (detail.header as { alg?: unknown } | undefined)?.alg
  switch (err.code) {
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      if (claim === 'iss') return 'bad_issuer'
      if (claim === 'aud' || claim === 'azp') return 'bad_audience'
      if (claim === 'nonce') return 'bad_nonce'
      return 'invalid_token'
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return claim === 'exp' ? 'token_expired' : 'invalid_token'
    case 'OAUTH_KEY_SELECTION_FAILED':
      return 'bad_signature'
    case 'OAUTH_INVALID_RESPONSE':
      if (alg === 'none') return 'unsigned_token'
      if (/signature|"alg"/.test((err.cause as CodedError | undefined)?.message ?? err.message ?? '')) return 'bad_signature'
      return 'invalid_token'
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
    case 'OAUTH_PARSE_ERROR':
      return 'token_exchange_failed'
    default:
      return err.name === 'TypeError' || err.name === 'AbortError' || err.name === 'TimeoutError' ? 'idp_unreachable' : 'invalid_token'
  }
}

function causeChain(err: CodedError): CodedError[] {
  const chain: CodedError[] = []
  let current: unknown = err
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    chain.push(current as CodedError)
    current = (current as CodedError).cause
  }
  return chain
}

/** The deepest error-like object of a cause chain, with its own fields (`claim`, `header`). */
function innermost(err: CodedError): Record<string, unknown> {
  let current: unknown = err
  let fields: Record<string, unknown> = {}
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const c = current as Record<string, unknown>
    if ('claim' in c || 'header' in c) fields = c
    current = c.cause
  }
  return fields
}
