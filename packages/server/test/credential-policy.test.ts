import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SCOPES, type Role, type TokenScope } from '../src/modules/auth/auth-types.js'
import { decideCredential, type Authority } from '../src/modules/auth/credential-policy.js'

const ROLES: Role[] = ['member', 'reviewer', 'admin']
const ALL: TokenScope[] = [...SCOPES, '*']

/**
 * The oracle, written apart from the policy: what a token can do is the set of (role, scope)
 * requirements it passes, as a route's `config.access` checks them. A credential is fine when it
 * can do nothing its creator cannot, and does not act with a higher role.
 */
const RANK: Record<Role, number> = { member: 1, reviewer: 2, admin: 3 }
function passes(who: Authority, role: Role, scope: (typeof SCOPES)[number]): boolean {
  const scoped = who.scopes.includes(scope) || (scope !== 'instance:admin' && who.scopes.includes('*'))
  return RANK[who.role] >= RANK[role] && scoped
}
function oracle(caller: Authority, produced: Authority): boolean {
  if (RANK[produced.role] > RANK[caller.role]) return false
  return ROLES.every((role) => SCOPES.every((scope) => !passes(produced, role, scope) || passes(caller, role, scope)))
}

/** Every subset of the scopes and `*`: 4,096 scope sets. */
const everyScopeSet = (): TokenScope[][] =>
  Array.from({ length: 1 << ALL.length }, (_, bits) => ALL.filter((_, i) => (bits >> i) & 1))

describe('decideCredential', () => {
  it('for every caller role and scope set, allows a user credential (role, *) exactly when the oracle does', () => {
    let allowed = 0
    for (const scopes of everyScopeSet()) {
      for (const callerRole of ROLES) {
        for (const targetRole of ROLES) {
          const caller = { role: callerRole, scopes }
          const decision = decideCredential(caller, { role: targetRole, scopes: ['*'] }, 'x')
          expect(decision.allowed, `${callerRole} ${JSON.stringify(scopes)} → ${targetRole} *`).toBe(oracle(caller, { role: targetRole, scopes: ['*'] }))
          if (decision.allowed) allowed++
        }
      }
    }
    // Not vacuous: a caller with '*' (or every scope spelled out) and a high enough role may.
    expect(allowed).toBeGreaterThan(0)
  })

  it('for any caller and any requested scope set, agrees with the oracle', () => {
    const scopeSet = fc.subarray(ALL, { minLength: 1 })
    const role = fc.constantFrom(...ROLES)
    fc.assert(
      fc.property(role, scopeSet, role, scopeSet, (callerRole, callerScopes, role2, scopes) => {
        const caller = { role: callerRole, scopes: callerScopes }
        const produced = { role: role2, scopes }
        expect(decideCredential(caller, produced, 'x').allowed).toBe(oracle(caller, produced))
      }),
      { numRuns: 2000 },
    )
  })

  it("a 'space:admin' token cannot produce an admin's credential, and the message names what is missing", () => {
    const decision = decideCredential({ role: 'admin', scopes: ['space:admin'] }, { role: 'admin', scopes: ['*'] }, 'a token for user usr_1')
    expect(decision.allowed).toBe(false)
    if (decision.allowed) return
    expect(decision.missingRole).toBeNull()
    expect(decision.missingScopes).toContain('audit:read')
    expect(decision.missingScopes).toContain('vault:admin')
    expect(decision.missingScopes).not.toContain('space:admin')
    expect(decision.message).toContain('you cannot create a token for user usr_1')
    expect(decision.message).toContain("'audit:read'")
  })

  it("'*' never stands for 'instance:admin', and every scope spelled out counts as '*'", () => {
    expect(decideCredential({ role: 'admin', scopes: ['*'] }, { role: 'admin', scopes: ['instance:admin'] }, 'x').allowed).toBe(false)
    const spelled = SCOPES.filter((scope) => scope !== 'instance:admin')
    expect(decideCredential({ role: 'admin', scopes: spelled }, { role: 'admin', scopes: ['*'] }, 'x').allowed).toBe(true)
    expect(decideCredential({ role: 'admin', scopes: spelled.slice(1) }, { role: 'admin', scopes: ['*'] }, 'x').allowed).toBe(false)
  })

  it('a lower role cannot produce a higher one, whatever its scopes', () => {
    const decision = decideCredential({ role: 'reviewer', scopes: ['*', 'instance:admin'] }, { role: 'admin', scopes: ['space:read'] }, 'x')
    expect(decision).toMatchObject({ allowed: false, missingRole: 'admin', missingScopes: [] })
  })
})
