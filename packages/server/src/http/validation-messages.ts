import { closest } from '../lib/did-you-mean.js'

/**
 * Turns ajv's validation errors into messages a person can act on: the path of what failed in
 * what they sent, the allowed values of an enum or a union of literals, and the known property a
 * misspelt one probably meant. Needs ajv's `verbose` option (app.ts): the schema and the data
 * come with each error.
 */
export interface AjvIssue {
  instancePath: string
  schemaPath: string
  keyword: string
  message?: string
  params?: Record<string, unknown>
  /** With `verbose`: the keyword's value (for anyOf, the branches), the schema holding it, and the data checked. */
  schema?: unknown
  parentSchema?: unknown
  data?: unknown
}

export interface DescribedIssue {
  path: string
  message: string
}

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const list = (values: unknown[]) => values.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))).join(', ')

/** A branch's literal value (`const`, or an enum of one), if it is one. */
function literalOf(schema: unknown): { value: unknown } | null {
  if (!isObject(schema)) return null
  if ('const' in schema) return { value: schema.const }
  if (Array.isArray(schema.enum) && schema.enum.length === 1) return { value: schema.enum[0] }
  return null
}

/** A property every branch fixes to a literal (`source` in `{ source: 'none' } | { source: 'external', url }`). */
function discriminator(branches: unknown[]): string | null {
  const first = branches[0]
  if (!isObject(first) || !isObject(first.properties)) return null
  for (const name of Object.keys(first.properties)) {
    if (branches.every((branch) => isObject(branch) && isObject(branch.properties) && literalOf(branch.properties[name]) !== null)) return name
  }
  return null
}

function describeOne(context: string, issue: AjvIssue, extra: string[] = []): DescribedIssue {
  const segments = issue.instancePath.split('/').filter(Boolean).map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
  const missing = issue.params?.missingProperty
  const additional = issue.params?.additionalProperty
  if (typeof missing === 'string') segments.push(missing)
  if (typeof additional === 'string') segments.push(additional)
  segments.push(...extra)
  const path = [context, ...segments].join('.')
  if (typeof additional === 'string') {
    const parent = issue.parentSchema
    const known = isObject(parent) && isObject(parent.properties) ? Object.keys(parent.properties) : []
    const guess = closest(additional, known)
    return { path, message: `is not a known property${guess ? `; did you mean ${guess}?` : ''}` }
  }
  if (issue.keyword === 'enum' && Array.isArray(issue.params?.allowedValues)) return { path, message: `must be one of ${list(issue.params.allowedValues)}` }
  return { path, message: issue.message ?? 'is not valid' }
}

/**
 * A failed union (anyOf/oneOf): ajv reports every branch's first error, then "must match a schema
 * in anyOf", which helps nobody. A union of literals lists its values; a union of objects told
 * apart by one property reports the branch that property chose, or lists the choices.
 */
function describeUnion(context: string, union: AjvIssue, inside: AjvIssue[]): DescribedIssue[] {
  const branches = Array.isArray(union.schema) ? union.schema : []
  const literals = branches.map(literalOf)
  if (branches.length > 0 && literals.every((literal) => literal !== null)) {
    return [{ ...describeOne(context, union), message: `must be one of ${list(literals.map((literal) => literal!.value))}` }]
  }
  const key = discriminator(branches)
  if (key !== null) {
    const values = branches.map((branch) => literalOf(((branch as Json).properties as Json)[key])!.value)
    const sent = isObject(union.data) ? union.data[key] : undefined
    const chosen = values.findIndex((value) => value === sent)
    if (chosen >= 0) {
      const prefix = `${union.schemaPath}/${chosen}/`
      const own = inside.filter((issue) => issue.schemaPath.startsWith(prefix))
      if (own.length > 0) return describeIssues(context, own)
    }
    const message = sent === undefined ? `is required: one of ${list(values)}` : `must be one of ${list(values)}`
    return [{ ...describeOne(context, union, [key]), message }]
  }
  // No shape to tell apart: the first branch's complaint, or the union's own when it has none (oneOf matching twice).
  return inside.length > 0 ? describeIssues(context, inside.slice(0, 1)) : [describeOne(context, union)]
}

/** Every issue described, a union and the errors of its branches as one. */
export function describeIssues(context: string, issues: AjvIssue[]): DescribedIssue[] {
  const unions = issues.filter((issue) => (issue.keyword === 'anyOf' || issue.keyword === 'oneOf') && typeof issue.schemaPath === 'string')
  const consumed = new Set<AjvIssue>()
  const described: Array<{ at: number; items: DescribedIssue[] }> = []
  // Outermost unions first: a nested union's errors belong to its enclosing branch.
  for (const union of [...unions].sort((a, b) => a.schemaPath.length - b.schemaPath.length)) {
    if (consumed.has(union)) continue
    const inside = issues.filter((issue) => issue !== union && issue.schemaPath.startsWith(`${union.schemaPath}/`))
    for (const issue of [union, ...inside]) consumed.add(issue)
    const at = Math.min(...[union, ...inside].map((issue) => issues.indexOf(issue)))
    described.push({ at, items: describeUnion(context, union, inside) })
  }
  issues.forEach((issue, at) => {
    if (!consumed.has(issue)) described.push({ at, items: [describeOne(context, issue)] })
  })
  return described.sort((a, b) => a.at - b.at).flatMap((entry) => entry.items)
}
