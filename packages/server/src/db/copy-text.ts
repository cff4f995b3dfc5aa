/**
 * PostgreSQL's COPY text format (https://www.postgresql.org/docs/current/sql-copy.html, "Text
 * Format"): one row per line, columns separated by a tab, `\N` for NULL. Inside a value a backslash,
 * tab, newline and carriage return are written as `\\`, `\t`, `\n`, `\r`; every other character,
 * any Unicode included, goes as it is (the connection's encoding is UTF-8 on both stores).
 *
 * NUL cannot be sent at all (PostgreSQL's text cannot hold it): callers refuse it where the value
 * enters (the JSON body parser does), and the encoder throws rather than send something else.
 */
export type CopyValue = string | null

const SPECIAL = /[\\\t\n\r]/g
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

/** One value as COPY text reads it back unchanged. */
export function copyTextValue(value: CopyValue): string {
  if (value === null) return '\\N'
  if (value.includes('\u0000')) throw new Error('COPY text cannot carry the NUL character; refuse it where the value is received')
  // Most values have nothing to escape: test first, so they are not copied.
  SPECIAL.lastIndex = 0
  return SPECIAL.test(value) ? value.replace(SPECIAL, (char) => ESCAPES[char]!) : value
}

/** One row, its trailing newline included. */
export const copyTextRow = (values: readonly CopyValue[]): string => `${values.map(copyTextValue).join('\t')}\n`

/** Rows joined into chunks of at most `rowsPerChunk` rows: few strings, none of them huge. */
export function* copyTextChunks(rows: Iterable<readonly CopyValue[]>, rowsPerChunk = 500): Generator<string> {
  let chunk = ''
  let inChunk = 0
  for (const row of rows) {
    chunk += copyTextRow(row)
    if (++inChunk === rowsPerChunk) {
      yield chunk
      chunk = ''
      inChunk = 0
    }
  }
  if (inChunk > 0) yield chunk
}
