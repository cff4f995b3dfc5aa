import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../../http/errors.js'
import { aclRefusal, askedOutcome, decideAcl } from './decide-acl.js'

const model = { name: 'customers', primaryKey: 'id' }
const ids = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 6 })
const token = fc.option(fc.constant('tok'), { nil: null })
const action = fc.constantFrom('read' as const, 'write' as const, 'delete' as const)

describe('decideAcl', () => {
  it('none and grants allow every id at once (grants narrow in the query itself), whatever the token', () => {
    fc.assert(
      fc.property(fc.constantFrom({ source: 'none' as const }, { source: 'grants' as const, resourceKind: 'customer', field: 'owner' }), action, token, ids, (acl, act, clientToken, wanted) => {
        const decision = decideAcl(model, { acl }, act, clientToken, wanted)
        expect(decision).toEqual({ kind: 'allow', ids: new Set(wanted), outcome: acl.source })
      }),
    )
  })

  it('external asks the endpoint about exactly these ids, with the caller token, default timeout 2000 ms', () => {
    fc.assert(
      fc.property(action, ids, (act, wanted) => {
        const decision = decideAcl(model, { acl: { source: 'external', url: 'https://acl.example/filter' } }, act, 'tok', wanted)
        if (wanted.length === 0) expect(decision).toEqual({ kind: 'allow', ids: new Set(), outcome: 'external: nothing to ask' })
        else expect(decision).toEqual({ kind: 'ask', call: { url: 'https://acl.example/filter', timeoutMs: 2000, clientToken: 'tok', action: act, model: 'customers', primaryKey: 'id', ids: wanted } })
      }),
    )
  })

  it('external without x-client-auth is refused, even for no ids (fail closed)', () => {
    for (const wanted of [[], ['a']]) {
      expect(() => decideAcl(model, { acl: { source: 'external', url: 'https://acl.example/filter', timeoutMs: 50 } }, 'read', null, wanted)).toThrow(
        expect.objectContaining({ code: 'acl_client_auth_missing' }),
      )
    }
  })

  it('describes an answer and refuses one record as not found to a reader, forbidden to a writer', () => {
    expect(askedOutcome({ ids: ['a', 'b', 'c'] }, new Set(['a']))).toBe('external: 1 of 3 allowed')
    expect(aclRefusal('read', 'customers', 'a')).toMatchObject({ code: 'not_found' })
    const refusal = aclRefusal('delete', 'customers', 'a')
    expect(refusal).toBeInstanceOf(AppError)
    expect(refusal).toMatchObject({ code: 'forbidden', message: "your application's ACL does not allow delete on customers 'a'" })
  })
})
