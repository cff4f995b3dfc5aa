import type { ExactCheck } from './filter-types.js'

/**
 * Whether a row passes every exact check of a filter, given each checked field's decrypted
 * canonical text (null when missing). The SQL half of the filter (blind-index lookups, plain
 * conditions) already ran; this drops the rows the index let through because another value shares
 * its index value, and decides $ne/$nin, which an index cannot. `undefined` from `textOf` means the
 * row holds no ciphertext of a converting field, which the SQL half decided alone.
 */
export function passesChecks(checks: readonly ExactCheck[], textOf: (field: string) => string | null | undefined): boolean {
  return checks.every((check) => {
    const text = textOf(check.field)
    // A converting field's row in its plain form: the SQL compared it exactly.
    if (text === undefined) return true
    const listed = text === null ? check.withNull : check.values.includes(text)
    return check.op === 'in' ? listed : !listed
  })
}
