import { badRequest } from '../http/errors.js'

/**
 * Opaque page cursors: a JSON value in base64url. Clients pass `nextCursor` back unchanged; a
 * cursor that does not decode to what `read` accepts is a 400, never a wrong page.
 */
export const encodeCursor = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

export function decodeCursor<T>(cursor: string, read: (value: unknown) => T | null): T {
  let value: T | null = null
  try {
    value = read(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')))
  } catch {
    value = null
  }
  if (value === null) throw badRequest('cursor is not valid: pass back the nextCursor of a previous page unchanged')
  return value
}

/** A cursor holding `{ before: seq }`, for lists paged backwards by a sequence number. */
export const encodeSeqCursor = (seq: number): string => encodeCursor({ before: seq })

export const decodeSeqCursor = (cursor: string): number =>
  decodeCursor(cursor, (value) => {
    const before = (value as { before?: unknown } | null)?.before
    return typeof before === 'number' && Number.isSafeInteger(before) && before > 0 ? before : null
  })
