import type { SortOptions } from './filter-types.js'
import { MAX_SORT_ENTRIES } from './filter-types.js'
import { childPath, invalid, isPlainObject, quoteIdent, segment } from './filter-values.js'

/**
 * Compiles `options.sort` — `[{ "<field>": "asc" | "desc" }, …]` — into ' ORDER BY …', or '' when
 * there is nothing to sort by. Only quoted columns of known fields and constants reach the text.
 *
 * Strings sort in code point order (COLLATE "C"), as the filter's $gt/$lt compare them, so a client
 * paging by "greater than the last value" sees the order it sorted by, on any server locale. Missing
 * values sort as larger than every value (PostgreSQL's default, spelled out): last ascending, first
 * descending. The caller appends a unique tie-breaker (the primary key) when it pages.
 */
export function compileSort(sort: unknown, options: SortOptions): string {
  const path = 'options.sort'
  if (sort === undefined) return ''
  if (!Array.isArray(sort)) throw invalid(path, 'expected an array of {"<field>": "asc" | "desc"}')
  if (sort.length > MAX_SORT_ENTRIES) throw invalid(path, `more than ${MAX_SORT_ENTRIES} entries`)
  const seen = new Set<string>()
  const terms = sort.map((entry: unknown, index) => {
    const here = childPath(path, index)
    if (!isPlainObject(entry)) throw invalid(here, 'expected an object {"<field>": "asc" | "desc"}')
    const keys = Object.keys(entry)
    if (keys.length !== 1) throw invalid(here, 'expected exactly one field')
    const name = keys[0] as string
    const at = childPath(here, name)
    const field = options.fields.get(name)
    if (!field) throw invalid(at, `unknown field '${segment(name)}'`)
    if (!options.readable(name)) throw invalid(at, 'you cannot sort on this field')
    if (field.type === 'json') throw invalid(at, 'a json field cannot be sorted on')
    if (field.converting) throw invalid(at, `field '${name}' is being made ${field.converting.to} by job '${field.converting.job}': it cannot be sorted on until the job ends`)
    if (field.encrypted) throw invalid(at, `field '${name}' is encrypted: it cannot be sorted on (the order of its values would need the plaintext)`)
    if (seen.has(name)) throw invalid(at, 'this field is already sorted on')
    seen.add(name)
    const direction = entry[name]
    if (direction !== 'asc' && direction !== 'desc') throw invalid(at, "expected 'asc' or 'desc'")
    const column = quoteIdent(field.column) + (field.type === 'string' ? ' COLLATE "C"' : '')
    return direction === 'asc' ? `${column} ASC NULLS LAST` : `${column} DESC NULLS FIRST`
  })
  return terms.length === 0 ? '' : ` ORDER BY ${terms.join(', ')}`
}
