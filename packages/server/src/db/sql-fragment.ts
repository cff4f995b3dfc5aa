/**
 * A piece of SQL one module hands another to embed in its own statement (a WHERE condition, a
 * subquery): text with placeholders numbered from $1, and their values. The receiver renumbers the
 * placeholders with `splice`; it never reads or edits the text. Values reach the text only as
 * placeholders, so a fragment is as safe to embed as the module that built it made it.
 */
export interface SqlFragment {
  readonly sql: string
  readonly params: readonly unknown[]
}

/** Appends `fragment`'s parameters to `params` and returns its text renumbered to match; null is `TRUE`. */
export function splice(params: unknown[], fragment: SqlFragment | null): string {
  if (!fragment) return 'TRUE'
  const offset = params.length
  params.push(...fragment.params)
  return fragment.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)
}

/** Both conditions as one (either may be absent). */
export function allOf(a: SqlFragment | null, b: SqlFragment | null): SqlFragment | null {
  if (!a || !b) return a ?? b
  const params: unknown[] = []
  return { sql: `(${splice(params, a)}) AND (${splice(params, b)})`, params }
}
