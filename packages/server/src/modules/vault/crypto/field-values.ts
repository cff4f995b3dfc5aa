import type { FieldType } from '../models/model-types.js'

/**
 * The one text of a value that is encrypted and blind-indexed, so that values PostgreSQL would call
 * equal index equally: a date-time is its instant in UTC (`2024-05-01T12:00:00.000Z`, to the
 * millisecond: what JavaScript keeps of it), every other type the validator's text as it is (an
 * integer or a decimal is already JavaScript's shortest round-trip text; a string is compared exactly,
 * as a plain column compares it).
 */
export function canonicalText(type: FieldType, text: string): string {
  return type === 'datetime' ? new Date(text).toISOString() : text
}

/** A decrypted text as the driver returns the plain column's value, so the rest of the read path is the same. */
export function columnValue(type: FieldType, text: string): unknown {
  switch (type) {
    case 'integer':
      return Number(text)
    case 'datetime':
      return new Date(text)
    case 'json':
      return JSON.parse(text) as unknown
    default: // string, decimal (as exact text, like `::text`), date (`YYYY-MM-DD`)
      return text
  }
}
