/**
 * What PostgreSQL cannot store in text or jsonb: NUL, and a UTF-16 surrogate without its partner
 * (not a character; the drivers would silently send U+FFFD instead). Both the JSON parser at the
 * edge and the vault's value validator refuse them with this one test.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

export type UnstorableText = 'nul' | 'lone_surrogate'

/** Why PostgreSQL could not store `text`, or null when it can. */
export function unstorableText(text: string): UnstorableText | null {
  if (text.includes('\u0000')) return 'nul'
  if (LONE_SURROGATE.test(text)) return 'lone_surrogate'
  return null
}
