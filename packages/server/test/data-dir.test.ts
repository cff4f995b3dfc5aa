import { chmodSync, lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { STORE } from './harness.js'
import { processHarness, tokenIn, type Started } from './process-harness.js'

/**
 * Issue 11, "the embedded store is world-writable": the data directory and everything in it are
 * owner-only whatever the umask the server starts with, and a looser directory is fixed with a
 * warning. Runs the real entry point, as server.test.ts does.
 */
const { tempDir, storeEnv: envFor, startProcess } = processHarness('gatehouse-perm-')

/** Starts main.ts under `umask 000`, the loosest a careless service manager might give it. */
const startLoose = (env: Record<string, string>) => startProcess(env, { umask: '000' })

/** A data directory the server creates itself, under the loose umask. */
async function storeEnv(): Promise<{ env: Record<string, string>; dataDir: string }> {
  const dataDir = join(tempDir(), 'data')
  return { env: await envFor(dataDir), dataDir }
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
