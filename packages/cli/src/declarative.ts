import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { CliError, EXIT } from './errors.js'

/** One line of a plan: what apply would do to one object, and why. */
export interface Step {
  action: 'create' | 'update' | 'delete' | 'keep'
  type: string
  name: string
  /** Field-level notes: `priority: 10 → 20`, `DROP field ssn (all its values)`. */
  details: string[]
  /** Run by apply (with --yes); absent for keep. */
  run?: () => Promise<unknown>
  /** Steps run by phase, then in plan order (a policy change before the model drop it allows). */
  phase?: number
  /** A preparatory step the plan does not list (its change is part of a listed step). */
  hidden?: boolean
}

/** A YAML or JSON file (YAML is a superset of JSON) as an object. */
export function loadDocument(file: string): Record<string, unknown> {
  const text = readFileSync(file, 'utf8')
  let document: unknown
  try {
    document = parse(text, { prettyErrors: true })
  } catch (error) {
    throw new CliError(`${file}: not valid YAML or JSON: ${(error as Error).message}`, EXIT.usage)
  }
  if (!document || typeof document !== 'object' || Array.isArray(document)) throw new CliError(`${file}: expected a mapping at the top (policies:, models:, …)`, EXIT.usage)
  return document as Record<string, unknown>
}

/** The list under `key`, each item an object with a string `name`, names unique. */
export function namedList(file: string, document: Record<string, unknown>, key: string): Array<Record<string, unknown> & { name: string }> {
  const value = document[key]
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new CliError(`${file}: '${key}' must be a list`, EXIT.usage)
  const seen = new Set<string>()
  return value.map((item, index) => {
    if (!item || typeof item !== 'object' || typeof (item as { name?: unknown }).name !== 'string') throw new CliError(`${file}: ${key}[${index}] needs a name`, EXIT.usage)
    const name = (item as { name: string }).name
    if (seen.has(name)) throw new CliError(`${file}: two ${key} named '${name}'`, EXIT.usage)
    seen.add(name)
    return item as Record<string, unknown> & { name: string }
  })
}

/** Key order and absent-vs-undefined do not count as a difference. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined && x !== null).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  )
}

/** `priority: 10 → 20` for each top-level key that differs. */
export function differences(current: Record<string, unknown>, wanted: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(current), ...Object.keys(wanted)])].sort()
  return keys.filter((key) => canonical(current[key]) !== canonical(wanted[key])).map((key) => `${key}: ${canonical(current[key]) ?? '(none)'} → ${canonical(wanted[key]) ?? '(none)'}`)
}

const SIGN = { create: '+', update: '~', delete: '-', keep: ' ' } as const

export function renderPlan(steps: Step[]): string {
  const changes = steps.filter((step) => step.action !== 'keep' && !step.hidden)
  if (changes.length === 0) return 'Nothing to do: the server already matches the file.\n'
  const lines = changes.flatMap((step) => [`${SIGN[step.action]} ${step.action} ${step.type} ${step.name}`, ...step.details.map((detail) => `    ${detail}`)])
  const count = (action: Step['action']) => changes.filter((step) => step.action === action).length
  return `${lines.join('\n')}\n\nPlan: ${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete.\n`
}

/** Prints the plan; runs it in order only with --yes. Answers what was done, for --json. */
export async function applyPlan(steps: Step[], yes: boolean, print: (json: unknown, human: () => string) => void, note: (text: string) => void): Promise<void> {
  const changes = steps.filter((step) => step.action !== 'keep' && !step.hidden)
  const summary = (applied: boolean) => ({ applied, changes: changes.map(({ action, type, name, details }) => ({ action, type, name, details })) })
  if (changes.length === 0) {
    print(summary(false), () => renderPlan(steps))
    return
  }
  if (!yes) {
    print(summary(false), () => `${renderPlan(steps)}Nothing applied: run again with --yes to apply this plan.\n`)
    return
  }
  note(renderPlan(steps).trimEnd())
  const order = steps.filter((step) => step.action !== 'keep').sort((a, b) => (a.phase ?? 0) - (b.phase ?? 0))
  for (const step of order) {
    await step.run!()
    if (step.hidden) continue
    note(`${SIGN[step.action]} ${step.action}d ${step.type} ${step.name}`)
  }
  print(summary(true), () => `Applied: ${changes.length} change${changes.length === 1 ? '' : 's'}.\n`)
}
