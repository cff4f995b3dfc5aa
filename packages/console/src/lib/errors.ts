/** What to show for a failed call: the server's own message (and code), never a generic "something went wrong". */
export function errorText(error: unknown): string {
  if (!error) return ''
  const e = error as { message?: string; code?: string; status?: number }
  const message = e.message ?? String(error)
  return e.code && !e.code.startsWith('http_') ? `${message} (${e.code})` : message
}

/** A 401 from the server: the session is gone (signed out elsewhere, revoked, expired). */
export const isSessionGone = (error: unknown): boolean => (error as { status?: number } | null)?.status === 401
