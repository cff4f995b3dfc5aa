import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { CliError, EXIT } from './errors.js'

/** One saved connection: where the server is, which space, which token. */
export interface Profile {
  url?: string
  space?: string
  token?: string
  /** Who signed in (shown by `config list`), never used to authenticate. */
  email?: string
}

export interface ConfigFile {
  current?: string
  profiles: Record<string, Profile>
}

/** The environment the CLI was started with, read once by main.ts and handed down. */
export type Env = Readonly<Record<string, string | undefined>>

export const DEFAULT_URL = 'http://127.0.0.1:8080'
export const DEFAULT_PROFILE = 'default'

/** `$XDG_CONFIG_HOME/gatehouse/config.json`, else `~/.config/gatehouse/config.json`. */
export function configPath(env: Env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config')
  return join(base, 'gatehouse', 'config.json')
}

export function readConfigFile(path: string): ConfigFile {
  if (!existsSync(path)) return { profiles: {} }
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new CliError(`${path} is not valid JSON (${(error as Error).message}); fix or delete it`)
  }
  const file = parsed as Partial<ConfigFile> | null
  if (!file || typeof file !== 'object' || (file.profiles !== undefined && typeof file.profiles !== 'object')) {
    throw new CliError(`${path} is not a gatehouse config file (expected { "profiles": { … } })`)
  }
  return { ...(file.current ? { current: file.current } : {}), profiles: file.profiles ?? {} }
}

/** Tokens live here: the directory is 0700 and the file 0600 whatever the umask, written whole (rename). */
export function writeConfigFile(file: ConfigFile, path: string): void {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 })
  chmodSync(temporary, 0o600)
  renameSync(temporary, path)
}

export interface ConnectionFlags {
  profile?: string
  url?: string
  space?: string
  token?: string
}

export interface Settings {
  profileName: string
  /** False when the named profile is not in the file (a first `login` makes it). */
  profileExists: boolean
  url: string
  space: string
  token: string | undefined
}

/** The profile a command acts on: --profile, else GATEHOUSE_PROFILE, else the file's current one. */
export const profileNameOf = (flags: ConnectionFlags, env: Env, file: ConfigFile): string => flags.profile ?? env.GATEHOUSE_PROFILE ?? file.current ?? DEFAULT_PROFILE

/** Flags beat GATEHOUSE_* variables, which beat the profile, which beats the defaults. */
export function resolveSettings(flags: ConnectionFlags, env: Env, file: ConfigFile = readConfigFile(configPath(env)), options: { allowNew?: boolean } = {}): Settings {
  const profileName = profileNameOf(flags, env, file)
  const explicit = flags.profile !== undefined || env.GATEHOUSE_PROFILE !== undefined
  const profile = Object.hasOwn(file.profiles, profileName) ? file.profiles[profileName] : undefined
  if (explicit && !profile && !options.allowNew) {
    // A misspelt --profile must not quietly fall back to defaults (and another server).
    const known = Object.keys(file.profiles)
    throw new CliError(`no profile '${profileName}' in ${configPath(env)}${known.length ? ` (known: ${known.join(', ')})` : ''}; create it with: gatehouse login --profile ${profileName}`, EXIT.usage)
  }
  // A new profile starts from the current one's server and space (never its token).
  const current = file.current ?? DEFAULT_PROFILE
  const base = profile ?? (options.allowNew && Object.hasOwn(file.profiles, current) ? file.profiles[current] : undefined)
  return {
    profileName,
    profileExists: profile !== undefined,
    url: flags.url ?? nonEmpty(env.GATEHOUSE_URL) ?? base?.url ?? DEFAULT_URL,
    space: flags.space ?? nonEmpty(env.GATEHOUSE_SPACE) ?? base?.space ?? 'default',
    token: flags.token ?? nonEmpty(env.GATEHOUSE_API_TOKEN) ?? profile?.token,
  }
}

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value)
