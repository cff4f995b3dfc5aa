import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isReadable, resolveReadableFields } from './resolve-readable-fields.js'

const names = fc.constantFrom('id', 'first_name', 'last_name', 'email', 'created_at', 'updated_at')
const model = { primaryKey: 'id' }

describe('resolveReadableFields', () => {
  it('reads the key and the times always, other fields only when the list names them (or there is no list)', () => {
    fc.assert(
      fc.property(fc.option(fc.uniqueArray(names), { nil: undefined }), names, (readable, field) => {
        const expected = field === 'id' || field === 'created_at' || field === 'updated_at' || readable === undefined || readable.includes(field)
        expect(resolveReadableFields(model, { readable })(field)).toBe(expected)
      }),
    )
  })

  it('an empty list hides every field but the key and the times', () => {
    const readable = resolveReadableFields(model, { readable: [] })
    expect(['id', 'created_at', 'updated_at', 'first_name'].map(readable)).toEqual([true, true, true, false])
    expect(isReadable({ readable: [] }, 'first_name')).toBe(false)
    expect(isReadable({}, 'first_name')).toBe(true)
  })
})
