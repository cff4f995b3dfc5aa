import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Mask } from '../policies/vault-policy-types.js'
import { maskRecord, maskValue } from './mask-record.js'

const model = { primaryKey: 'id', fields: { id: { type: 'string' as const }, name: { type: 'string' as const }, email: { type: 'string' as const }, card: { type: 'string' as const } } }
const fieldNames = fc.constantFrom<string>('id', 'name', 'email', 'card')
const record = fc.record({
  id: fc.string({ minLength: 1 }),
  name: fc.option(fc.string(), { nil: null }),
  email: fc.option(fc.emailAddress(), { nil: null }),
  card: fc.option(fc.stringMatching(/^[0-9]{12,16}$/), { nil: null }),
  created_at: fc.constant('2023-09-02T13:07:01Z'),
  updated_at: fc.constant('2023-09-02T13:07:01Z'),
})
const masks = fc.dictionary(fc.constantFrom('name', 'email', 'card'), fc.constantFrom<Mask>('full', 'last4', 'email'), { maxKeys: 3 })

describe('maskRecord', () => {
  it('shows the key, the times, and the readable fields of `only`; never a field it may not read', () => {
    fc.assert(
      fc.property(record, fc.option(fc.uniqueArray(fieldNames), { nil: undefined }), fc.option(fc.uniqueArray(fc.constantFrom<string>('name', 'email', 'card', 'created_at')), { nil: undefined }), (row, readable, only) => {
        const out = maskRecord(model, { readable }, row, only)
        for (const name of ['name', 'email', 'card']) {
          const shown = (readable === undefined || readable.includes(name)) && (only === undefined || only.includes(name))
          expect(Object.hasOwn(out, name)).toBe(shown)
          if (shown) expect(out[name]).toBe(row[name as keyof typeof row])
        }
        expect(out.id).toBe(row.id)
        expect(Object.hasOwn(out, 'created_at')).toBe(only === undefined || only.includes('created_at'))
        expect(Object.hasOwn(out, 'updated_at')).toBe(only === undefined)
      }),
    )
  })

  it('masks what the rule masks, keeps missing values missing, and never shows more than the mask allows', () => {
    fc.assert(
      fc.property(record, masks, (row, masked) => {
        const out = maskRecord(model, { masked }, row)
        for (const [name, how] of Object.entries(masked)) {
          const value = row[name as keyof typeof row]
          if (value === null) {
            expect(out[name]).toBeNull()
            continue
          }
          const shown = out[name] as string
          if (how === 'full') expect(shown).toBe('****')
          if (how === 'last4') expect(shown).toBe(`****${value.slice(-4)}`)
          if (how === 'email') expect(shown === '****' || (shown.startsWith(`${value[0]}***@`) && value.endsWith(shown.slice(shown.indexOf('@'))))).toBe(true)
        }
      }),
    )
  })

  it('masks values in their JSON text when they are not strings', () => {
    expect(maskValue(123456, 'last4')).toBe('****3456')
    expect(maskValue('ann@example.com', 'email')).toBe('a***@example.com')
    expect(maskValue('no-at-sign', 'email')).toBe('****')
    expect(maskValue(undefined, 'full')).toBeUndefined()
  })
})
