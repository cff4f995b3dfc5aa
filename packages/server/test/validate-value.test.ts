import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { valueText } from '../src/modules/vault/values/validate-value.js'

const accepts = (type: Parameters<typeof valueText>[0], value: unknown): boolean => {
  try {
    valueText(type, value, 'v')
    return true
  } catch {
    return false
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0')

/** The calendar by another route: JavaScript's own UTC arithmetic rolls an impossible day over. */
const isRealDay = (year: number, month: number, day: number) => {
  const date = new Date(Date.UTC(2000, month - 1, day))
  date.setUTCFullYear(year)
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

describe('the vault value validator', () => {
  it('accepts a date exactly when it is a real calendar day (years 0001-9999)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }), (year, month, day) => {
        const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`
        expect(accepts('date', text)).toBe(isRealDay(year, month, day))
        expect(accepts('datetime', `${text}T12:30:00Z`)).toBe(isRealDay(year, month, day))
      }),
      { numRuns: 2000 },
    )
  })

  it('every accepted date-time is one JavaScript reads as the same instant PostgreSQL would', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (date) => {
        const text = date.toISOString()
        expect(valueText('datetime', text, 'v')).toBe(text)
      }),
    )
  })

  it('strings: no lone surrogate, no NUL, bounded in code points; paired surrogates are fine', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        expect(accepts('string', text)).toBe(!/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')) && !text.includes('\u0000'))
      }),
    )
    expect(accepts('string', '😀'.repeat(10))).toBe(true)
    expect(() => valueText('string', 'ab', 'f', { maxLength: 1 })).toThrow('f: longer than 1 characters')
  })

  it('integers are safe and decimals finite; json is checked to its leaves', () => {
    expect(valueText('integer', Number.MAX_SAFE_INTEGER, 'v')).toBe('9007199254740991')
    expect(accepts('integer', Number.MAX_SAFE_INTEGER + 1)).toBe(false)
    expect(accepts('integer', 1.5)).toBe(false)
    expect(valueText('decimal', 0.1, 'v')).toBe('0.1')
    expect(accepts('decimal', Number.NaN)).toBe(false)
    expect(valueText('json', { a: [1, 'x', null] }, 'v')).toBe('{"a":[1,"x",null]}')
    expect(() => valueText('json', { a: { b: ['\ud800'] } }, 'v')).toThrow('v.a.b.0: a string cannot contain an unpaired UTF-16 surrogate')
    let deep: unknown = 1
    for (let i = 0; i < 70; i += 1) deep = [deep]
    expect(() => valueText('json', deep, 'v')).toThrow('nested deeper than 64')
  })
})
