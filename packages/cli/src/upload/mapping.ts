import type { ResourceInput } from '@gatehouse/sdk'
import { CliError, EXIT } from '../errors.js'
import { RowError, type Row } from './rows.js'

/** Where each resource field comes from: `kind`, `id`, `displayName` and `label.<name>` → a column/key. */
export interface Mapping {
  kind?: string
  id?: string
  displayName?: string
  labels: Record<string, string>
  /** Used when a row has no kind. */
  defaultKind?: string
}

/** `--map id=customer_id --map label.plan=plan` → a Mapping; anything else is a usage error. */
export function parseMapping(entries: string[], defaultKind?: string): Mapping | null {
  const mapping: Mapping = { labels: {}, ...(defaultKind ? { defaultKind } : {}) }
  if (entries.length === 0) return defaultKind ? { ...mapping, labels: {} } : null
  for (const entry of entries) {
    const at = entry.indexOf('=')
    const field = entry.slice(0, at)
    const column = entry.slice(at + 1)
    if (at <= 0 || column === '') throw new CliError(`--map '${entry}' is not FIELD=COLUMN (e.g. id=customer_id, label.plan=plan)`, EXIT.usage)
    if (field === 'kind' || field === 'id' || field === 'displayName') mapping[field] = column
    else if (field.startsWith('label.') && field.length > 6) mapping.labels[field.slice(6)] = column
    else throw new CliError(`--map '${entry}': the field must be kind, id, displayName or label.NAME`, EXIT.usage)
  }
  return mapping
}

const scalar = (value: unknown): string | undefined =>
  value === null || value === undefined || value === '' ? undefined : typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined

/**
 * A row as a resource. Without a mapping the row's own names are used: `kind`, `id`,
 * `displayName`, `label.<name>` columns, or a `labels` object in JSON.
 */
export function toResource(file: string, row: Row, mapping: Mapping | null): ResourceInput {
  const record = row.record
  const pick = (column: string | undefined, fallback: string) => record[column ?? fallback]
  const kind = scalar(pick(mapping?.kind, 'kind')) ?? mapping?.defaultKind
  const id = scalar(pick(mapping?.id, 'id'))
  if (!kind) throw new RowError(file, row.line, `no kind (column '${mapping?.kind ?? 'kind'}'; or pass --kind)`)
  if (!id) throw new RowError(file, row.line, `no id (column '${mapping?.id ?? 'id'}')`)
  const labels: Record<string, string> = {}
  const addLabel = (name: string, value: unknown) => {
    if (value === null || value === undefined || value === '') return
    const text = scalar(value)
    if (text === undefined) throw new RowError(file, row.line, `label '${name}' must be a string, number or boolean`)
    labels[name] = text
  }
  if (mapping && (mapping.kind || mapping.id || mapping.displayName || Object.keys(mapping.labels).length > 0)) {
    for (const [name, column] of Object.entries(mapping.labels)) addLabel(name, record[column])
  } else {
    for (const [key, value] of Object.entries(record)) if (key.startsWith('label.')) addLabel(key.slice(6), value)
    const nested = record.labels
    if (nested !== undefined && nested !== null) {
      if (typeof nested !== 'object' || Array.isArray(nested)) throw new RowError(file, row.line, "'labels' must be an object")
      for (const [name, value] of Object.entries(nested)) addLabel(name, value)
    }
  }
  const displayName = scalar(pick(mapping?.displayName, 'displayName'))
  return { kind, id, ...(displayName ? { displayName } : {}), ...(Object.keys(labels).length > 0 ? { labels } : {}) }
}
