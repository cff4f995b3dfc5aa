import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'
import { openTestDb, STORE } from './harness.js'

/**
 * For tests that start the server as a newcomer would: the real entry point as a child process, or
 * `startServer` on a store of its own. Everything made (temporary folders, databases, processes) is
 * undone after each test, last made first.
 */
export const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))

export interface Started {
  child: ChildProcess
  output: () => string
  url: string
  exited: Promise<number | null>
}

export const tokenIn = (output: string) => /Admin token for space 'default'[^\n]*\n\s+(ghs_[a-z2-7]+)/.exec(output)?.[1]

/** Call at the top of a test file: registers the file's afterEach clean-up. */
export function processHarness(prefix = 'gatehouse-test-') {
  const cleanups: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  const onCleanup = (cleanup: () => Promise<void> | void) => void cleanups.push(cleanup)

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    onCleanup(() => rmSync(dir, { recursive: true, force: true }))
    return dir
  }

  /** One store (a PGlite data directory, or a fresh PostgreSQL database) that several starts may share. */
  async function storeEnv(dataDir: string = tempDir()): Promise<Record<string, string>> {
    if (STORE === 'pglite') return { GATEHOUSE_DATA_DIR: dataDir }
    const testDb = await openTestDb()
    await testDb.db.close()
    onCleanup(() => testDb.drop().catch(() => undefined))
    return { GATEHOUSE_DATA_DIR: dataDir, DATABASE_URL: testDb.url! }
  }

  /** Runs main.ts (under `umask` when given) and waits for its banner. */
  function startProcess(env: Record<string, string>, options: { umask?: string } = {}): Promise<Started> {
    const node = [process.execPath, '--import', 'tsx', MAIN]
    const [command, args] = options.umask ? ['/bin/sh', ['-c', `umask ${options.umask} && exec "$0" "$@"`, ...node]] : [node[0]!, node.slice(1)]
    const child = spawn(command, args, {
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
    onCleanup(() => {
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

  return { onCleanup, tempDir, storeEnv, startProcess }
}
