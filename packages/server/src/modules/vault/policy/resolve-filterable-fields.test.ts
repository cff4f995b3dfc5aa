import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveFilterableFields } from './resolve-filterable-fields.js'
import { resolveReadableFields } from './resolve-readable-fields.js'

const names = fc.constantFrom('id', 'first_name', 'last_name', 'yearly_spending', 'created_at')
const model = { primaryKey: 'id' }

describe('resolveFilterableFields', () => {
  it('is exactly the readable fields plus those made filterable on purpose', () => {
    fc.assert(
      fc.property(fc.option(fc.uniqueArray(names), { nil: undefined }), fc.option(fc.uniqueArray(names), { nil: undefined }), names, (readable, filterable, field) => {
        const rule = { readable, filterable }
        const expected = resolveReadableFields(model, rule)(field) || (filterable ?? []).includes(field)
        expect(resolveFilterableFields(model, rule)(field)).toBe(expected)
      }),
    )
  })

  it("reference 004: filters on yearly_spending without ever reading it", () => {
    const rule = { readable: ['first_name'], filterable: ['yearly_spending'] }
    expect(resolveReadableFields(model, rule)('yearly_spending')).toBe(false)
    expect(resolveFilterableFields(model, rule)('yearly_spending')).toBe(true)
    expect(resolveFilterableFields(model, rule)('last_name')).toBe(false)
  })
})
