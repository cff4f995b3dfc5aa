import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkCliRedirect, checkReturnTo, classifyOidcError, decideIdentity, mapRole, planGroupSync } from '../src/modules/sso/sso-policy.js'

describe('checkReturnTo', () => {
  it('keeps paths under /console with their query and fragment; empty means /console/', () => {
    expect(checkReturnTo(undefined)).toBe('/console/')
    expect(checkReturnTo('')).toBe('/console/')
    expect(checkReturnTo('/console')).toBe('/console')
    expect(checkReturnTo('/console/petitions?tab=open#p1')).toBe('/console/petitions?tab=open#p1')
  })

  it('refuses anything that could leave the origin or /console', () => {
    for (const raw of [
      'https://evil.example/console/',
      '//evil.example/console/',
      '/\\evil.example',
      '\\\\evil.example',
      '/console\\..\\admin',
      'javascript:alert(1)',
      'console/',
      '/consolex',
      '/console/../v1/spaces',
      '/%2e%2e/admin',
      '/console/\nSet-Cookie: x=1',
      ' /console/',
      '/',
    ]) {
      expect(checkReturnTo(raw), raw).toBeNull()
    }
  })

  it('whatever it accepts resolves, against any origin, to that origin and a path under /console', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.constantFrom('', '/', '/console', '/console/', '//', '/\\', 'http://x'), (tail, head) => {
        const out = checkReturnTo(head + tail)
        if (out === null) return
        const resolved = new URL(out, 'https://gatehouse.example')
        expect(resolved.origin).toBe('https://gatehouse.example')
        expect(resolved.pathname === '/console' || resolved.pathname.startsWith('/console/')).toBe(true)
      }),
    )
  })
})

describe('checkCliRedirect', () => {
  it('accepts only plain-http loopback redirects', () => {
    expect(checkCliRedirect('http://127.0.0.1:5123/callback')?.port).toBe('5123')
    expect(checkCliRedirect('http://[::1]:5123/cb')).not.toBeNull()
    expect(checkCliRedirect('http://localhost:5123/cb')).not.toBeNull()
    for (const raw of ['https://127.0.0.1/cb', 'http://evil.example/cb', 'http://127.0.0.1.evil.example/cb', 'http://user@127.0.0.1:1/cb', 'http://10.0.0.1/cb', 'not a url']) {
      expect(checkCliRedirect(raw), raw).toBeNull()
    }
  })
})

describe('mapRole', () => {
  const mapping = { roleClaim: 'groups', roleMap: { admins: 'admin', reviewers: 'reviewer' } as const }

  it('is member when nothing maps, and the highest mapped role wins', () => {
    expect(mapRole({}, mapping)).toBe('member')
    expect(mapRole({ groups: ['staff'] }, mapping)).toBe('member')
    expect(mapRole({ groups: ['reviewers'] }, mapping)).toBe('reviewer')
    expect(mapRole({ groups: ['admins', 'reviewers'] }, mapping)).toBe('admin')
    expect(mapRole({ groups: ['reviewers', 'admins'] }, mapping)).toBe('admin')
    expect(mapRole({ groups: 'reviewers' }, mapping)).toBe('reviewer')
  })

  it('ignores a claim that is not a string or list of strings, inherited keys, and no role claim at all', () => {
    expect(mapRole({ groups: { admins: true } }, mapping)).toBe('member')
    expect(mapRole({ groups: [1, null, 'reviewers'] }, mapping)).toBe('reviewer')
    expect(mapRole({ groups: ['constructor', '__proto__', 'toString'] }, mapping)).toBe('member')
    expect(mapRole({ groups: ['admins'] }, { roleClaim: null, roleMap: { admins: 'admin' } })).toBe('member')
  })
})

describe('planGroupSync', () => {
  const byName = new Map([
    ['a', 'grp_a'],
    ['b', 'grp_b'],
    ['c', 'grp_c'],
  ])

  it('adds the claimed groups, removes the others, and reports names with no group', () => {
    expect(planGroupSync(['a', 'b', 'zz'], byName, ['grp_b', 'grp_c'])).toEqual({ add: ['grp_a'], remove: ['grp_c'], unknown: ['zz'] })
    expect(planGroupSync([], byName, ['grp_a'])).toEqual({ add: [], remove: ['grp_a'], unknown: [] })
    expect(planGroupSync(['a', 'a'], byName, [])).toEqual({ add: ['grp_a'], remove: [], unknown: [] })
  })

  it('applying the plan always leaves exactly the claimed, known groups', () => {
    const names = fc.constantFrom('a', 'b', 'c', 'x', 'y')
    const ids = fc.constantFrom('grp_a', 'grp_b', 'grp_c')
    fc.assert(
      fc.property(fc.array(names), fc.uniqueArray(ids), (claimed, current) => {
        const plan = planGroupSync(claimed, byName, current)
        const after = new Set<string>(current)
        plan.add.forEach((id) => after.add(id))
        plan.remove.forEach((id) => after.delete(id))
        const expected = new Set(claimed.map((n) => byName.get(n)).filter((id): id is string => id !== undefined))
        expect([...after].sort()).toEqual([...expected].sort())
      }),
    )
  })
})

describe('decideIdentity', () => {
  const base = { linked: null, sameEmail: null, emailVerified: true, linkExistingUsers: false }

  it('matches by (provider, sub) first, whatever the email', () => {
    expect(decideIdentity({ ...base, linked: { userId: 'u1', disabled: false }, sameEmail: { userId: 'u2', disabled: false } })).toEqual({ kind: 'existing', userId: 'u1' })
  })

  it('creates a new user when nobody matches', () => {
    expect(decideIdentity(base)).toEqual({ kind: 'create' })
  })

  it('refuses an existing email unless linking is allowed, and links only a verified email', () => {
    const sameEmail = { userId: 'u2', disabled: false }
    expect(decideIdentity({ ...base, sameEmail })).toMatchObject({ kind: 'refuse', reason: 'email_taken' })
    expect(decideIdentity({ ...base, sameEmail, linkExistingUsers: true })).toEqual({ kind: 'link', userId: 'u2' })
    expect(decideIdentity({ ...base, sameEmail, linkExistingUsers: true, emailVerified: false })).toMatchObject({ kind: 'refuse', reason: 'email_unverified' })
  })

  it('refuses a deactivated user, linked or by email', () => {
    expect(decideIdentity({ ...base, linked: { userId: 'u1', disabled: true } })).toMatchObject({ kind: 'refuse', reason: 'user_disabled' })
    expect(decideIdentity({ ...base, sameEmail: { userId: 'u2', disabled: true }, linkExistingUsers: true })).toMatchObject({ kind: 'refuse', reason: 'user_disabled' })
  })
})

describe('classifyOidcError', () => {
  // The shapes openid-client throws: a ClientError whose cause is oauth4webapi's error, whose cause names the claim.
  const clientError = (code: string, message: string, detail: Record<string, unknown>) =>
    Object.assign(new Error('wrapped'), { name: 'ClientError', code, cause: Object.assign(new Error(message), { code, cause: detail }) })

  it('names the claim at fault', () => {
    expect(classifyOidcError(clientError('OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'unexpected JWT "iss"', { claim: 'iss' }))).toBe('bad_issuer')
    expect(classifyOidcError(clientError('OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'unexpected JWT "aud"', { claim: 'aud' }))).toBe('bad_audience')
    expect(classifyOidcError(clientError('OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'unexpected azp', { claim: 'azp' }))).toBe('bad_audience')
    expect(classifyOidcError(clientError('OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'unexpected nonce', { claim: 'nonce' }))).toBe('bad_nonce')
    expect(classifyOidcError(clientError('OAUTH_JWT_TIMESTAMP_CHECK_FAILED', 'exp', { claim: 'exp' }))).toBe('token_expired')
    expect(classifyOidcError(clientError('OAUTH_JWT_TIMESTAMP_CHECK_FAILED', 'iat', { claim: 'iat' }))).toBe('invalid_token')
  })

  it('tells signatures, unsigned tokens and transport failures apart, and never passes an unknown error as fine', () => {
    expect(classifyOidcError(clientError('OAUTH_KEY_SELECTION_FAILED', 'no applicable keys', { header: { alg: 'RS256', kid: 'x' } }))).toBe('bad_signature')
    expect(classifyOidcError(clientError('OAUTH_INVALID_RESPONSE', 'JWT signature verification failed', { key: {} }))).toBe('bad_signature')
    expect(classifyOidcError(clientError('OAUTH_INVALID_RESPONSE', 'unexpected JWT "alg" header parameter', { header: { alg: 'none' } }))).toBe('unsigned_token')
    expect(classifyOidcError(clientError('OAUTH_INVALID_RESPONSE', 'unexpected JWT "alg" header parameter', { header: { alg: 'HS256' } }))).toBe('bad_signature')
    expect(classifyOidcError(Object.assign(new Error('unreachable'), { name: 'OutboundFailure' }))).toBe('idp_unreachable')
    expect(classifyOidcError(Object.assign(new Error('something went wrong'), { name: 'ClientError', cause: Object.assign(new Error('unreachable'), { name: 'OutboundFailure' }) }))).toBe('idp_unreachable')
    expect(classifyOidcError(Object.assign(new Error('operation timed out'), { name: 'ClientError', code: 'OAUTH_TIMEOUT' }))).toBe('idp_unreachable')
    expect(classifyOidcError(Object.assign(new Error('invalid_grant'), { name: 'ResponseBodyError' }))).toBe('token_exchange_failed')
    expect(classifyOidcError(Object.assign(new Error('access_denied'), { name: 'AuthorizationResponseError' }))).toBe('idp_error')
    expect(classifyOidcError(new Error('something new'))).toBe('invalid_token')
    expect(classifyOidcError(undefined)).toBe('invalid_token')
  })
})
