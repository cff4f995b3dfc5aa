import { generateKeyPairSync, randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { buildApp, type BuiltApp } from '../../packages/server/src/app.js'
import type { Db, StoreKind } from '../../packages/server/src/db/db.js'
import { migrate } from '../../packages/server/src/db/migrate.js'
import { createCheckpointSigner } from '../../packages/server/src/modules/audit/audit-signer.js'
import { createLocalKms } from '../../packages/server/src/modules/keys/index.js'
import type { Role, Scope } from '../../packages/server/src/modules/auth/auth-types.js'
import { traceStatements, type StatementTracer } from './statement-tracer.js'
import { openFreshStore, type StoreHandle, type StoreLocation } from './stores.js'

export interface StackOptions {
  /** PGlite in a temporary directory instead of in memory, so another process can open it later. */
  onDisk?: boolean
  /** Give the app a Db whose statements `stack.tracer` can count and time (evidence, off unless recording). */
  trace?: boolean
}

/** The real server, as main.ts runs it, on a fresh store, listening on loopback. */
export interface Stack {
  kind: StoreKind
  store: StoreHandle
  db: Db
  built: BuiltApp
  /** With `trace`: records which statements the app sends and what each costs. */
  tracer: StatementTracer | null
  /** http://127.0.0.1:<port> */
  baseUrl: string
  space: string
  /** The bootstrap admin token of the `default` space. */
  adminToken: string
  /** One JSON request to the server; throws with the server's answer on anything but 2xx. */
  api<T>(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<T>
  /** A service account with this role and a token with these scopes, made through the HTTP API. */
  serviceToken(name: string, role: Role, scopes: Scope[]): Promise<string>
  /** Stops the HTTP server and closes the Db, keeping the data for another process. */
  release(): Promise<StoreLocation>
  /** Stops everything and drops the database. Idempotent. */
  close(): Promise<void>
}

export async function startStack(kind: StoreKind, options: StackOptions & { adminUrl: string | null }): Promise<Stack> {
  const store = await openFreshStore(kind, { adminUrl: options.adminUrl, onDisk: options.onDisk })
  let built: BuiltApp | undefined
  const tracer = options.trace ? traceStatements(store.db) : null
  try {
    built = await buildApp({
      db: tracer?.db ?? store.db,
      signer: createCheckpointSigner(generateKeyPairSync('ed25519').privateKey),
      kms: createLocalKms(randomBytes(32)),
      // The bench makes a handful of tokens, never signs in: the limit only needs to stay out of the way.
      signInRateLimit: { max: 1000, timeWindowMs: 60_000 },
      // Scenario 2's ACL endpoints listen on 127.0.0.1, which the outbound policy refuses by default.
      outboundAllow: ['127.0.0.1/32'],
    })
    const { result } = await migrate(store.db, (conn) => built!.services.spaces.bootstrapIfEmpty(conn))
    if (!result) throw new Error('bootstrap did not run on a fresh store')
    await built.app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = built.app.server.address() as AddressInfo
    return makeStack(kind, store, built, tracer, `http://127.0.0.1:${port}`, result.adminToken.token)
  } catch (error) {
    await built?.app.close().catch(() => undefined)
    await store.drop()
    throw error
  }
}

function makeStack(kind: StoreKind, store: StoreHandle, built: BuiltApp, tracer: StatementTracer | null, baseUrl: string, adminToken: string): Stack {
  let appClosed: Promise<void> | null = null
  const closeApp = () => (appClosed ??= built.app.close())

  const stack: Stack = {
    kind,
    store,
    db: store.db,
    built,
    tracer,
    baseUrl,
    space: 'default',
    adminToken,
    async api<T>(method: string, path: string, { token = adminToken, body }: { token?: string; body?: unknown } = {}): Promise<T> {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(60_000),
      })
      const text = await response.text()
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`)
      return (text ? JSON.parse(text) : undefined) as T
    },
    async serviceToken(name, role, scopes) {
      const account = await stack.api<{ id: string }>('POST', `/v1/spaces/${stack.space}/service-accounts`, { body: { name, role } })
      const issued = await stack.api<{ token: string }>('POST', `/v1/spaces/${stack.space}/service-accounts/${account.id}/tokens`, {
        body: { name, scopes },
      })
      return issued.token
    },
    async release() {
      await closeApp()
      await store.closeDb()
      return store.location
    },
    async close() {
      await closeApp().catch(() => undefined)
      await store.drop()
    },
  }
  return stack
}
