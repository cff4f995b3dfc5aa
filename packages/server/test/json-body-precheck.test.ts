import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { mayHoldUnstorableText } from '../src/http/error-handler.js'
import { unstorableText } from '../src/lib/storable-text.js'

/** Every key and string in a parsed JSON value. */
function* texts(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value
  else if (Array.isArray(value)) for (const item of value) yield* texts(item)
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      yield key
      yield* texts(item)
    }
  }
}

/** Any UTF-16 code unit, with NUL, surrogates, backslashes and what follows `\\u` made likely. */
const unit = fc.oneof(fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), fc.constantFrom('\\', 'u', '0', 'd', 'D', '8', '\u0000', '\ud800', '\ud83d', '\ude00', '\udfff'))
const anyText = fc.string({ unit, maxLength: 12 })

describe('the JSON body parser skips its per-string check only when no string can need it', () => {
  it('a body whose text says "nothing unstorable" parses to nothing unstorable', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: unit }), fc.array(anyText, { maxLength: 4 }), (value, extra) => {
        const body = JSON.stringify({ value, extra })
        const unsafe = [...texts(JSON.parse(body))].some((text) => unstorableText(text) !== null)
        if (unsafe) expect(mayHoldUnstorableText(body)).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it('is exact on the escapes it looks for', () => {
    expect(mayHoldUnstorableText('{"a":"\\u0000"}')).toBe(true)
    expect(mayHoldUnstorableText('{"a":"\\uD800"}')).toBe(true)
    expect(mayHoldUnstorableText('{"a":"\\udfff"}')).toBe(true)
    expect(mayHoldUnstorableText('{"a":"\\u00e9 \\u2028 plain"}')).toBe(false)
  })
})
