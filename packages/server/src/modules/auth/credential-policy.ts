import { forbidden } from '../../http/errors.js'
import { hasScope, roleAtLeast, SCOPES, type Role, type Scope, type TokenScope } from './auth-types.js'

/** What a token can do: its role (read from its subject) and its scopes. */
export interface Authority {
  role: Role
  scopes: readonly TokenScope[]
}

export type CredentialDecision = { allowed: true } | { allowed: false; missingRole: Role | null; missingScopes: Scope[]; message: string }

/** The scopes `*` stands for: every scope but `instance:admin`, which is only ever named. */
export const STAR_SCOPES: readonly Scope[] = SCOPES.filter((scope) => scope !== 'instance:admin')

const expand = (scopes: readonly TokenScope[]): Scope[] => [...new Set(scopes.flatMap((scope) => (scope === '*' ? STAR_SCOPES : [scope])))]

/**
 * May a caller produce a credential that acts with `produced`'s authority? A credential is a token,
 * a password that signs in, a role given to a user whose tokens then carry it, or a space's admin
 * token. It decides by attenuation, as macaroons and UCANs do: the credential's role must be at most
 * the caller's, and every scope it carries, with `*` spelled out as the scopes it stands for, must
 * be one the caller holds itself. So a token holding every scope but `audit:read` cannot mint a
 * `*` token, and a `space:admin` token cannot mint a user token (a user token carries `*`).
 * `what` names the credential in the message, e.g. "a user token for usr_1".
 */
export function decideCredential(caller: Authority, produced: Authority, what: string): CredentialDecision {
  const missingRole = roleAtLeast(caller.role, produced.role) ? null : produced.role
  const missingScopes = expand(produced.scopes).filter((scope) => !hasScope(caller.scopes, scope))
  if (missingRole === null && missingScopes.length === 0) return { allowed: true }
  const reasons: string[] = []
  if (missingRole) reasons.push(`it would act as '${produced.role}' and your token acts as '${caller.role}'`)
  if (missingScopes.length > 0) {
    const carried = produced.scopes.includes('*') ? " (a '*' credential carries every scope but 'instance:admin')" : ''
    reasons.push(`it would carry ${missingScopes.map((scope) => `'${scope}'`).join(', ')}, which your token lacks${carried}`)
  }
  return {
    allowed: false,
    missingRole,
    missingScopes,
    message: `you cannot create ${what}: ${reasons.join('; ')}. A token can only produce credentials with a role and scopes it holds itself`,
  }
}

/** The same decision as a guard: a 403 `forbidden` that says what is missing. */
export function assertMayProduce(caller: Authority, produced: Authority, what: string): void {
  const decision = decideCredential(caller, produced, what)
  if (!decision.allowed) throw forbidden(decision.message)
}
