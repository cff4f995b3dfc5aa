/**
 * The vault explorer's filter builder: rows of field / operator / value → a filter in the find
 * language (docs/vault-filters.md), typed by the model's fields so a value goes out as the type
 * the server expects (no coercion there: "1" is not an integer).
 */
export const OPERATORS = [
  { op: '$eq', label: 'equals' },
  { op: '$ne', label: 'does not equal' },
  { op: '$gt', label: 'greater than' },
  { op: '$gte', label: 'at least' },
  { op: '$lt', label: 'less than' },
  { op: '$lte', label: 'at most' },
  { op: '$in', label: 'is one of (comma-separated)' },
  { op: '$like', label: 'matches (LIKE, % any)' },
  { op: '$exists', label: 'is present (true/false)' },
] as const
export type Operator = (typeof OPERATORS)[number]['op']

export interface Condition {
  field: string
  op: Operator
  value: string
}

export interface FieldInfo {
  name: string
  type: string
}

export type BuiltFilter = { ok: true; filter: Record<string, unknown> } | { ok: false; errors: string[] }

function typedValue(raw: string, type: string, field: string): { value: unknown } | { error: string } {
  const text = raw.trim()
  switch (type) {
    case 'integer':
      return /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? { value: Number(text) } : { error: `${field}: '${raw}' is not a whole number` }
    case 'decimal':
      return text !== '' && Number.isFinite(Number(text)) ? { value: Number(text) } : { error: `${field}: '${raw}' is not a number` }
    case 'boolean':
      return text === 'true' || text === 'false' ? { value: text === 'true' } : { error: `${field}: use true or false` }
    default:
      return { value: raw }
  }
}

/** Conditions are ANDed; two on the same field merge into one operator object. Empty rows are skipped. */
export function buildFilter(conditions: Condition[], fields: FieldInfo[]): BuiltFilter {
  const types = new Map(fields.map((field) => [field.name, field.type]))
  const filter: Record<string, Record<string, unknown>> = {}
  const errors: string[] = []
  for (const [index, condition] of conditions.entries()) {
    if (!condition.field) continue
    const type = types.get(condition.field)
    if (!type) {
      errors.push(`condition ${index + 1}: '${condition.field}' is not a field you can filter on`)
      continue
    }
    let value: unknown
    if (condition.op === '$exists') {
      const parsed = typedValue(condition.value || 'true', 'boolean', condition.field)
      if ('error' in parsed) {
        errors.push(parsed.error)
        continue
      }
      value = parsed.value
    } else if (condition.op === '$in') {
      const items = condition.value.split(',').map((item) => item.trim()).filter((item) => item !== '')
      if (items.length === 0) {
        errors.push(`${condition.field}: list at least one value, comma-separated`)
        continue
      }
      const parsed = items.map((item) => typedValue(item, type, condition.field))
      const bad = parsed.find((item): item is { error: string } => 'error' in item)
      if (bad) {
        errors.push(bad.error)
        continue
      }
      value = parsed.map((item) => (item as { value: unknown }).value)
    } else if (condition.op === '$like') {
      if (type !== 'string') {
        errors.push(`${condition.field}: 'matches' works on text fields only`)
        continue
      }
      value = condition.value
    } else {
      const parsed = typedValue(condition.value, type, condition.field)
      if ('error' in parsed) {
        errors.push(parsed.error)
        continue
      }
      value = parsed.value
    }
    const existing = (filter[condition.field] ??= {})
    if (Object.hasOwn(existing, condition.op)) {
      errors.push(`${condition.field}: '${condition.op}' is used twice; keep one`)
      continue
    }
    existing[condition.op] = value
  }
  if (errors.length > 0) return { ok: false, errors }
  // `{ f: { $eq: v } }` is written as the shorthand `{ f: v }` (the same filter, easier to read).
  const out: Record<string, unknown> = {}
  for (const [field, ops] of Object.entries(filter)) {
    const keys = Object.keys(ops)
    out[field] = keys.length === 1 && keys[0] === '$eq' && (ops.$eq === null || typeof ops.$eq !== 'object') ? ops.$eq : ops
  }
  return { ok: true, filter: out }
}
