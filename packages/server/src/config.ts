import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { ALLOW_VARIABLE, parseOutboundAllow } from './lib/outbound/index.js'
import type { MasterKeySource } from './modules/keys/master-key.js'

/** Everything the server reads from its environment, read and checked once, here. */
export interface Config {
  host: string
  port: number
  dataDir: string
  databaseUrl: string | null
  dbPoolMax: number
  auditKeyFile: string
  /** Rotate the audit checkpoint key: the key id being retired (GATEHOUSE_AUDIT_KEY_ROTATE_FROM). */
  auditKeyRotateFrom: string | null
  /** The master key (KEK): GATEHOUSE_MASTER_KEY (base64), else the file GATEHOUSE_MASTER_KEY_FILE (default <data dir>/master.key, made on first start). */
  masterKey: MasterKeySource
  /** Rotating the master key: the current one, as GATEHOUSE_MASTER_KEY_PREVIOUS (base64) or GATEHOUSE_MASTER_KEY_PREVIOUS_FILE. */
  masterKeyPrevious: MasterKeySource | null
  /** Refuse `db.query` inside a transaction callback of the same Db; off when NODE_ENV=production. */
  strictTransactions: boolean
  userTokenTtlSeconds: number
  signInAttemptsPerMinute: number
  bodyLimitBytes: number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  trustProxy: boolean
  shutdownTimeoutMs: number
  /** Loopback/private CIDRs and host names outbound calls may reach (GATEHOUSE_OUTBOUND_ALLOW). */
  outboundAllow: string[]
  /** The verifiable audit log (GATEHOUSE_AUDIT_LOG_NAME, _CHECKPOINT_EVENTS, _CHECKPOINT_SECONDS, _WITNESS_DIR). */
  auditLog: { logName: string; cadence: { everyEvents: number; everyMs: number }; witnessDir?: string; sequencerIntervalMs: number }
  /** The URL people reach this server at (GATEHOUSE_PUBLIC_URL): the base of SSO callback URLs. */
  publicUrl: string | null
  /** An OIDC provider for the default space from GATEHOUSE_OIDC_* (quickstart); its secret stays in configuration. */
  oidc: OidcFromConfig | null
}

export interface OidcFromConfig {
  providerId: string
  displayName: string
  issuer: string
  clientId: string
  clientSecret: string | null
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got '${raw}'`)
  }
  return value
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`)
  return raw as T
}

function databaseUrl(env: Env): string | null {
  const raw = env.DATABASE_URL
  if (raw === undefined || raw === '') return null
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`DATABASE_URL is not a URL: expected postgres://user@host:5432/database`)
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must start with postgres:// or postgresql://, got '${url.protocol}//'`)
  }
  return raw
}

function auditKeyId(env: Env): string | null {
  const raw = env.GATEHOUSE_AUDIT_KEY_ROTATE_FROM
  if (raw === undefined || raw === '') return null
  if (!/^[0-9a-f]{16}$/.test(raw)) throw new ConfigError(`GATEHOUSE_AUDIT_KEY_ROTATE_FROM must be an audit key id (16 hex digits), got '${raw}'`)
  return raw
}

function base64Key(env: Env, name: string): Buffer | null {
  const raw = env[name]
  if (raw === undefined || raw === '') return null
  const key = /^[A-Za-z0-9+/_-]+=*$/.test(raw.trim()) ? Buffer.from(raw.trim(), 'base64') : Buffer.alloc(0)
  if (key.length !== 32) throw new ConfigError(`${name} must be a master key: 32 bytes in base64 (e.g. from \`openssl rand -base64 32\`)`)
  return key
}

function masterKey(env: Env, dataDir: string): MasterKeySource {
  const key = base64Key(env, 'GATEHOUSE_MASTER_KEY')
  if (key && env.GATEHOUSE_MASTER_KEY_FILE) throw new ConfigError('set GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE, not both')
  return key ? { kind: 'env', key } : { kind: 'file', path: resolve(env.GATEHOUSE_MASTER_KEY_FILE || `${dataDir}/master.key`) }
}

function masterKeyPrevious(env: Env): MasterKeySource | null {
  const key = base64Key(env, 'GATEHOUSE_MASTER_KEY_PREVIOUS')
  const file = env.GATEHOUSE_MASTER_KEY_PREVIOUS_FILE
  if (key && file) throw new ConfigError('set GATEHOUSE_MASTER_KEY_PREVIOUS or GATEHOUSE_MASTER_KEY_PREVIOUS_FILE, not both')
  if (key) return { kind: 'env', key }
  return file ? { kind: 'file', path: resolve(file) } : null
}

function auditLog(env: Env): Config['auditLog'] {
  const logName = env.GATEHOUSE_AUDIT_LOG_NAME || 'gatehouse'
  // A C2SP note key name: it names the key in every checkpoint's signature line.
  if (!/^[A-Za-z0-9._:/-]{1,200}$/.test(logName)) throw new ConfigError(`GATEHOUSE_AUDIT_LOG_NAME must be a name such as gatehouse.example.com (letters, digits, . _ : / -), got '${logName}'`)
  const witnessDir = env.GATEHOUSE_AUDIT_WITNESS_DIR
  return {
    logName,
    cadence: {
      everyEvents: integer(env, 'GATEHOUSE_AUDIT_CHECKPOINT_EVENTS', 1000, 1, 100_000_000),
      everyMs: integer(env, 'GATEHOUSE_AUDIT_CHECKPOINT_SECONDS', 60, 1, 7 * 24 * 3600) * 1000,
    },
    ...(witnessDir ? { witnessDir: resolve(witnessDir) } : {}),
    // 0: this node runs no background sequencer (another node does; reads still integrate on demand).
    sequencerIntervalMs: integer(env, 'GATEHOUSE_AUDIT_SEQUENCER_INTERVAL_MS', 250, 0, 60_000),
  }
}

function outboundAllow(env: Env): string[] {
  const entries = (env[ALLOW_VARIABLE] ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  try {
    parseOutboundAllow(entries)
  } catch (error) {
    throw new ConfigError(`${ALLOW_VARIABLE}: ${(error as Error).message}; expected a comma-separated list such as 127.0.0.1/32,10.0.0.0/8,hooks.internal`)
  }
  return entries
}

function publicUrl(env: Env): string | null {
  const raw = env.GATEHOUSE_PUBLIC_URL
  if (raw === undefined || raw === '') return null
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`GATEHOUSE_PUBLIC_URL is not a URL: expected e.g. https://gatehouse.example.com`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`GATEHOUSE_PUBLIC_URL must be http(s), got '${url.protocol}//'`)
  if (url.search || url.hash || url.username) throw new ConfigError('GATEHOUSE_PUBLIC_URL must be a plain base URL (no query, fragment or credentials)')
  return raw.replace(/\/+$/, '')
}

function oidc(env: Env): OidcFromConfig | null {
  const issuer = env.GATEHOUSE_OIDC_ISSUER
  if (issuer === undefined || issuer === '') return null
  try {
    new URL(issuer)
  } catch {
    throw new ConfigError(`GATEHOUSE_OIDC_ISSUER is not a URL: expected the issuer, e.g. https://login.example.com`)
  }
  const clientId = env.GATEHOUSE_OIDC_CLIENT_ID
  if (!clientId) throw new ConfigError('GATEHOUSE_OIDC_ISSUER is set but GATEHOUSE_OIDC_CLIENT_ID is not: both are needed')
  const providerId = env.GATEHOUSE_OIDC_PROVIDER_ID || 'oidc'
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(providerId)) throw new ConfigError(`GATEHOUSE_OIDC_PROVIDER_ID must be a slug (a-z, 0-9, -), got '${providerId}'`)
  return { providerId, displayName: env.GATEHOUSE_OIDC_DISPLAY_NAME || 'Single sign-on', issuer, clientId, clientSecret: env.GATEHOUSE_OIDC_CLIENT_SECRET || null }
}

/** Flags win over environment variables: `--port 9000` beats `PORT=8080`. */
export function readConfig(env: Env, argv: string[] = []): Config {
  let flags: { port?: string; host?: string; 'data-dir'?: string }
  try {
    flags = parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' } }, strict: true }).values
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}; the server takes --port, --host and --data-dir`)
  }
  const merged: Env = {
    ...env,
    ...(flags.port !== undefined ? { PORT: flags.port } : {}),
    ...(flags.host !== undefined ? { HOST: flags.host } : {}),
    ...(flags['data-dir'] !== undefined ? { GATEHOUSE_DATA_DIR: flags['data-dir'] } : {}),
  }
  const dataDir = resolve(merged.GATEHOUSE_DATA_DIR || '.gatehouse')
  const host = merged.HOST || '127.0.0.1'
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new ConfigError(`HOST must be a host name or IP address, got '${host}'`)
  return {
    host,
    port: integer(merged, 'PORT', 8080, 0, 65535),
    dataDir,
    databaseUrl: databaseUrl(merged),
    dbPoolMax: integer(merged, 'GATEHOUSE_DB_POOL_MAX', 10, 1, 1000),
    auditKeyFile: resolve(merged.GATEHOUSE_AUDIT_KEY_FILE || `${dataDir}/audit-signing-key.pem`),
    auditKeyRotateFrom: auditKeyId(merged),
    masterKey: masterKey(merged, dataDir),
    masterKeyPrevious: masterKeyPrevious(merged),
    strictTransactions: merged.NODE_ENV !== 'production',
    userTokenTtlSeconds: integer(merged, 'GATEHOUSE_USER_TOKEN_TTL_SECONDS', 3600, 60, 24 * 3600),
    signInAttemptsPerMinute: integer(merged, 'GATEHOUSE_SIGN_IN_ATTEMPTS_PER_MINUTE', 10, 1, 10_000),
    bodyLimitBytes: integer(merged, 'GATEHOUSE_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    logLevel: oneOf(merged, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    trustProxy: oneOf(merged, 'GATEHOUSE_TRUST_PROXY', 'false', ['true', 'false']) === 'true',
    shutdownTimeoutMs: integer(merged, 'GATEHOUSE_SHUTDOWN_TIMEOUT_MS', 30_000, 0, 600_000),
    outboundAllow: outboundAllow(merged),
    auditLog: auditLog(merged),
    publicUrl: publicUrl(merged),
    oidc: oidc(merged),
  }
}
