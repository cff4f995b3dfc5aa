/**
 * Issue 16's drift test: every operation of the server's live OpenAPI document has an SDK method,
 * and every SDK method in the table is a function on a real client. A route added on the server
 * fails here (and in `tsc`, through `satisfies` in operations.ts) until the SDK has it.
 */
import { readFileSync } from 'node:fs'
import { GatehouseAPI, sdkMethods } from '@gatehouse/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from '../../server/test/harness.js'
import { routes } from '../src/generated/routes.js'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

/** `vault.connect().find` → the `find` method of the object `client.vault.connect(...)` returns. */
function resolve(client: GatehouseAPI, path: string): unknown {
  let target: unknown = client
  for (const part of path.split('.')) {
    const called = part.endsWith('()')
    const name = called ? part.slice(0, -2) : part
    const value = (target as Record<string, unknown> | undefined)?.[name]
    // connect() fetches no token until a record call: resolving needs no server.
    target = called && typeof value === 'function' ? (value as (options: object) => unknown)({ clientId: 'c', clientSecret: 's' }) : value
  }
  return target
}

describe('operations table', () => {
  it('maps each operationId of the live /openapi.json to one SDK method, and no other', async () => {
    const response = await h.request('GET', '/openapi.json')
    expect(response.status).toBe(200)
    const live = new Map<string, { method: string; path: string }>()
    for (const [path, item] of Object.entries(response.body.paths as Record<string, Record<string, { operationId?: string }>>)) {
      for (const [method, operation] of Object.entries(item)) if (operation.operationId) live.set(operation.operationId, { method: method.toUpperCase(), path })
    }
    expect(live.size).toBeGreaterThan(80)
    const missing = [...live.keys()].filter((id) => !(id in sdkMethods))
    expect(missing, `operations without an SDK method: add them to packages/sdk/src/operations.ts`).toEqual([])
    expect(Object.keys(sdkMethods).filter((id) => !live.has(id))).toEqual([])
    // The runtime routes the SDK calls are the server's (a renamed path would send requests astray).
    for (const [id, route] of live) expect((routes as Record<string, unknown>)[id], id).toEqual(route)
    expect(new Set(Object.values(sdkMethods)).size).toBe(Object.keys(sdkMethods).length)
  })

  it('resolves every method path to a function on a client instance', () => {
    const client = new GatehouseAPI({ baseUrl: 'http://127.0.0.1:9', space: 'default', token: 't' })
    const notFunctions = Object.entries(sdkMethods).filter(([, path]) => typeof resolve(client, path) !== 'function')
    expect(notFunctions).toEqual([])
    expect(resolve(client, 'user.nope')).toBeUndefined() // the resolver itself can say no
  })
})

describe('@gatehouse/sdk/client', () => {
  /** Every module the entry reaches through relative imports, from source. */
  function reachable(entry: URL, seen = new Map<string, string>()): Map<string, string> {
    if (seen.has(entry.href)) return seen
    const text = readFileSync(entry, 'utf8')
    seen.set(entry.href, text)
    for (const match of text.matchAll(/^(?:import|export)[^'"]*?from\s+'([^']+)'/gm)) {
      const specifier = match[1]!
      if (specifier.startsWith('.')) reachable(new URL(specifier.replace(/\.js$/, '.ts'), entry), seen)
    }
    return seen
  }

  it('reaches no node: module and no Node-only package, and is in package.json exports', () => {
    const modules = reachable(new URL('../src/browser.ts', import.meta.url))
    expect(modules.size).toBeGreaterThan(8)
    const imports = [...modules.values()].flatMap((text) => [...text.matchAll(/^(?:import|export)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!))
    expect(imports.filter((specifier) => !specifier.startsWith('.'))).toEqual([])
    // and the check is not vacuous: the main entry does reach node:crypto
    const main = [...reachable(new URL('../src/index.ts', import.meta.url)).values()].join('\n')
    expect(main).toContain("from 'node:crypto'")
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    expect(pkg.exports['./client']).toEqual({ types: './dist/browser.d.ts', default: './dist/browser.js' })
  })
})

describe('session mode', () => {
  const recorder = () => {
    const calls: Array<{ url: string; init: RequestInit }> = []
    const fetch = (async (url: string, init: RequestInit) => {
      calls.push({ url, init })
      return new Response(JSON.stringify({ users: [], nextCursor: null }), { status: 200, headers: { 'content-type': 'application/json' } })
    }) as unknown as typeof globalThis.fetch
    return { calls, fetch }
  }

  it('sends credentials, no bearer token, and x-csrf-token on every non-GET request only', async () => {
    const { calls, fetch } = recorder()
    let csrf: string | undefined = 'csrf-1'
    const client = new GatehouseAPI({ baseUrl: 'https://console.example', space: 'default', credentials: 'include', csrfToken: () => csrf, fetch })
    await client.user.list()
    await client.user.create({ email: 'a@example.com', name: 'A', role: 'member' })
    csrf = 'csrf-2'
    await client.user.delete('usr_1')
    const headers = calls.map((call) => call.init.headers as Record<string, string>)
    expect(calls.map((call) => call.init.credentials)).toEqual(['include', 'include', 'include'])
    expect(headers.map((header) => header['x-csrf-token'])).toEqual([undefined, 'csrf-1', 'csrf-2'])
    expect(headers.every((header) => !('authorization' in header))).toBe(true)
    expect(calls[2]!.url).toBe('https://console.example/v1/spaces/default/users/usr_1')
  })

  it('resolves a relative baseUrl against location.origin in a browser', async () => {
    const { calls, fetch } = recorder()
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'location')
    Object.defineProperty(globalThis, 'location', { value: { origin: 'https://gatehouse.example:8443' }, configurable: true })
    try {
      await new GatehouseAPI({ baseUrl: '', space: 'a b', credentials: 'same-origin', csrfToken: 'x', fetch }).user.list({ limit: 5 })
      await new GatehouseAPI({ baseUrl: '/', space: 'default', credentials: 'same-origin', fetch }).group.get('grp/1')
    } finally {
      if (saved) Object.defineProperty(globalThis, 'location', saved)
      else delete (globalThis as { location?: unknown }).location
    }
    expect(calls.map((call) => call.url)).toEqual(['https://gatehouse.example:8443/v1/spaces/a%20b/users?limit=5', 'https://gatehouse.example:8443/v1/spaces/default/groups/grp%2F1'])
  })

  it('a token client sends its bearer token and no csrf header', async () => {
    const { calls, fetch } = recorder()
    await new GatehouseAPI({ baseUrl: 'http://127.0.0.1:1', space: 'default', token: 'ghs_abc', fetch }).user.deactivate('usr_2')
    expect(calls[0]!.init.headers).toMatchObject({ authorization: 'Bearer ghs_abc' })
    expect(calls[0]!.init.method).toBe('POST')
    expect(calls[0]!.url).toBe('http://127.0.0.1:1/v1/spaces/default/users/usr_2:deactivate')
    expect(calls[0]!.init.credentials).toBeUndefined()
  })
})
