import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { openTestDb, STORE } from './harness.js'

/**
 * Issue 11, "the embedded store is world-writable": the data directory and everything in it are
 * owner-only whatever the umask the server starts with, and a looser directory is fixed with a
 * warning. Runs the real entry point, as server.test.ts does.
 */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Started {
  child: ChildProcess
  output: () => string
  url: string
  exited: Promise<number | null>
}

/** Starts main.ts under `umask 000`, the loosest a careless service manager might give it. */
function startLoose(env: Record<string, string>): Promise<Started> {
  const child = spawn('/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, '--import', 'tsx', MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      if (signal) output += `\n(killed by ${signal})`
      resolve(code)
    }),
  )
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 60 s:\n${output}`)), 60_000)
    const check = () => {
      const match = /API: +(http:\/\/[^\s]+)\/v1/.exec(output)
      if (match && output.includes('Store:') && (!output.includes('Admin token') || output.includes('Try it'))) {
        clearTimeout(timer)
        resolve({ child, output: () => output, url: match[1]!, exited })
      }
    }
    child.stdout!.on('data', check)
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before its banner:\n${output}`))
    })
  })
}

async function storeEnv(): Promise<{ env: Record<string, string>; dataDir: string }> {
  const parent = mkdtempSync(join(tmpdir(), 'gatehouse-perm-'))
  cleanups.push(() => rmSync(parent, { recursive: true, force: true }))
  // A directory the server creates itself, under the loose umask.
  const dataDir = join(parent, 'data')
  if (STORE === 'pglite') return { env: { GATEHOUSE_DATA_DIR: dataDir }, dataDir }
  const testDb = await openTestDb()
  await testDb.db.close()
  cleanups.push(() => testDb.drop().catch(() => undefined))
  return { env: { GATEHOUSE_DATA_DIR: dataDir, DATABASE_URL: testDb.url! }, dataDir }
}

/** Every path under `root` (itself included) that a group or other user could read, write or enter. */
function loosePaths(root: string): string[] {
  const loose: string[] = []
  const visit = (path: string) => {
    const stat = lstatSync(path)
    if (stat.isSymbolicLink()) return
    if (stat.mode & 0o077) loose.push(`${(stat.mode & 0o777).toString(8)} ${path}`)
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry))
  }
  visit(root)
  return loose
}

function countEntries(root: string): number {
  const stat = lstatSync(root)
  return 1 + (stat.isDirectory() ? readdirSync(root).reduce((sum, entry) => sum + countEntries(join(root, entry)), 0) : 0)
}

const tokenIn = (output: string) => /Admin token for space 'default'[^\n]*\n\s+(ghs_[a-z2-7]+)/.exec(output)?.[1]

async function stop(started: Started): Promise<void> {
  // A SIGTERM sent the instant the banner appears can beat main.ts's signal handlers (see the report).
  expect((await fetch(`${started.url}/readyz`)).status).toBe(200)
  started.child.kill('SIGTERM')
  expect(await started.exited, started.output()).toBe(0)
}

describe(`the data directory on ${STORE}`, () => {
  it('is owner-only (0700 directories, 0600 files) under umask 000, also for tables made while it runs', async () => {
    const { env, dataDir } = await storeEnv()
    const server = await startLoose(env)
    const token = tokenIn(server.output())!
    expect(token).toBeDefined()
    // A vault model is a new table: new files in the store while the server runs.
    const model = await fetch(`${server.url}/v1/spaces/default/vault/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'people', primaryKey: 'id', fields: { id: { type: 'string' }, email: { type: 'string', searchable: true } } }),
    })
    expect(model.status).toBe(201)
    expect(countEntries(dataDir)).toBeGreaterThan(STORE === 'pglite' ? 500 : 1)
    expect(loosePaths(dataDir)).toEqual([])
    expect(lstatSync(dataDir).mode & 0o777).toBe(0o700)
    expect(lstatSync(join(dataDir, 'audit-signing-key.pem')).mode & 0o777).toBe(0o600)
    await stop(server)
    expect(loosePaths(dataDir)).toEqual([])
    // A clean directory starts without a warning.
    expect(server.output()).not.toContain('made it private')
  }, 180_000)

  it('left world-readable by an earlier start is made private again, with a warning', async () => {
    const { env, dataDir } = await storeEnv()
    await stop(await startLoose(env))
    const open = (path: string) => {
      const stat = lstatSync(path)
      if (stat.isSymbolicLink()) return
      chmodSync(path, stat.isDirectory() ? 0o777 : 0o666)
      if (stat.isDirectory()) for (const entry of readdirSync(path)) open(join(path, entry))
    }
    open(dataDir)
    expect(loosePaths(dataDir).length).toBeGreaterThan(1)

    const again = await startLoose(env)
    expect(loosePaths(dataDir)).toEqual([])
    const warning = again.output().split('\n').find((line) => line.includes('made it private'))
    expect(warning, again.output()).toBeDefined()
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, path: dataDir })
    await stop(again)
    // Two starts of a real process: slow on a busy machine.
  }, 240_000)
})
