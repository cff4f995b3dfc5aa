import { GatehouseAPI } from '@gatehouse/sdk'
import { InvalidArgumentError, type Command } from 'commander'
import { CliError, EXIT } from './errors.js'
import { configPath, resolveSettings, type ConnectionFlags, type Env, type Settings } from './profiles.js'

export interface GlobalOptions extends ConnectionFlags {
  json?: boolean
}

/** What every command needs, made from the global flags at the time it runs. */
export interface Context {
  readonly options: GlobalOptions
  /** The environment main.ts was started with (GATEHOUSE_* settings, XDG_CONFIG_HOME). */
  readonly env: Env
  /** Where profiles are saved. */
  configPath(): string
  settings(): Settings
  /** For login: the named profile may not exist yet. */
  settingsForNewProfile(): Settings
  /** A client for the resolved profile; fails with a hint when there is no token. */
  client(): GatehouseAPI
  /** Data for a person (a table), or the API's JSON with --json. */
  print(json: unknown, human: () => string): void
  /** Messages and progress: stderr, so stdout stays data. */
  note(message: string): void
}

export function createContext(program: Command, env: Env): Context {
  const options = () => program.opts<GlobalOptions>()
  let settings: Settings | undefined
  const context: Context = {
    get options() {
      return options()
    },
    env,
    configPath: () => configPath(env),
    settings: () => (settings ??= resolveSettings(options(), env)),
    settingsForNewProfile: () => resolveSettings(options(), env, undefined, { allowNew: true }),
    client() {
      const resolved = context.settings()
      if (!resolved.token) {
        throw new CliError(`not signed in (profile '${resolved.profileName}', ${configPath(env)}): run gatehouse login, or pass --token / set GATEHOUSE_API_TOKEN`, EXIT.error)
      }
      return new GatehouseAPI({ baseUrl: resolved.url, space: resolved.space, token: resolved.token })
    },
    print(json, human) {
      process.stdout.write(options().json ? `${JSON.stringify(json, null, 2)}\n` : ensureNewline(human()))
    },
    note(message) {
      process.stderr.write(ensureNewline(message))
    },
  }
  return context
}

const ensureNewline = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`)

/** Columns padded to their widest cell; an empty list says so instead of printing a bare header. */
export function table(rows: Array<Record<string, unknown>>, columns: string[], empty = '(none)'): string {
  if (rows.length === 0) return `${empty}\n`
  const cell = (value: unknown) => (value === null || value === undefined ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value))
  const cells = rows.map((row) => columns.map((column) => cell(row[column])))
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((row) => row[i]!.length)))
  const line = (values: string[]) => values.map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i]!))).join('  ')
  return `${[line(columns.map((column) => column.toUpperCase())), ...cells.map(line)].join('\n')}\n`
}

/** `key: value` lines for one object. */
export function fields(object: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(object).map((key) => key.length))
  return `${Object.entries(object)
    .map(([key, value]) => `${`${key}:`.padEnd(width + 1)} ${value === null || value === undefined ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join('\n')}\n`
}

/** `customer:c_42` → { kind, id }. */
export function parseRef(text: string): { kind: string; id: string } {
  const at = text.indexOf(':')
  if (at <= 0 || at === text.length - 1) throw new CliError(`'${text}' is not KIND:ID, e.g. customer:c_42`, EXIT.usage)
  return { kind: text.slice(0, at), id: text.slice(at + 1) }
}

/** Whole numbers for --limit and friends; anything else is a usage error. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value)
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number`)
    return n
  }
}
