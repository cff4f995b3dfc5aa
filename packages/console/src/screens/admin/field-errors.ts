/**
 * Where the server says a request went wrong. A 400 `validation_failed` names paths in what was
 * sent (`body.match.resourceKnds: is not a known property; did you mean resourceKinds?`), in
 * `details.issues` and at the start of the message; the editors put each one under the input that
 * holds that part of the body.
 */
export interface Issue {
  /** The path below `body`, split: `['match', 'resourceKnds']`. */
  path: string[]
  message: string
}

const PATH_PREFIX = /^(body(?:\.[^\s:.]+)*): (.+)$/s

function split(path: string): string[] | null {
  const segments = path.split('.')
  return segments[0] === 'body' ? segments.slice(1) : null
}

/** The body issues of a failed call, from `details.issues`, else from the message's leading path. */
export function bodyIssues(error: unknown): Issue[] {
  const e = error as { code?: string; message?: string; details?: { issues?: unknown } } | null
  if (!e || e.code !== 'validation_failed') return []
  const issues: Issue[] = []
  if (Array.isArray(e.details?.issues)) {
    for (const raw of e.details.issues as Array<{ path?: unknown; message?: unknown }>) {
      if (typeof raw?.path !== 'string' || typeof raw.message !== 'string') continue
      const path = split(raw.path)
      if (path) issues.push({ path, message: raw.message })
    }
  }
  if (issues.length === 0 && typeof e.message === 'string') {
    const match = PATH_PREFIX.exec(e.message)
    const path = match ? split(match[1]!) : null
    if (match && path) issues.push({ path, message: match[2]! })
  }
  return issues
}

/**
 * The issues that belong to each input: an input owns the body properties named in `fields`
 * (its key), and shows the rest of the path (`resourceKnds: is not a known property…`). Issues no
 * input owns are returned under `''`, for the form as a whole.
 */
export function issuesByField(issues: Issue[], fields: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const issue of issues) {
    const [head, ...rest] = issue.path
    const owner = head !== undefined && fields.includes(head) ? head : ''
    const where = owner ? rest : issue.path
    const text = where.length ? `${where.join('.')}: ${issue.message}` : issue.message
    ;(out[owner] ??= []).push(text)
  }
  return out
}
