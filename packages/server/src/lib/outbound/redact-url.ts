/**
 * A URL as it may appear in the audit log and in log lines: scheme, host, port and path; the user
 * name, password, query string and fragment are dropped (a secret in a query string is common),
 * with `?…` left as a sign that there was a query. Relative URLs (`/v1/x?cursor=…`) keep their path.
 * Anything unreadable becomes `[invalid url]` rather than being logged as it is.
 */
export function redactUrl(raw: string): string {
  const query = /[?#]/.exec(raw)
  if (raw.startsWith('/')) return query ? `${raw.slice(0, query.index)}?…` : raw
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return '[invalid url]'
  }
  const hidden = url.search !== '' || url.hash !== '' || (query !== null && raw[query.index] === '?')
  return `${url.protocol}//${url.host}${url.pathname}${hidden ? '?…' : ''}`
}
