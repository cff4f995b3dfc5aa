import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHarness, type Harness } from '../../server/test/harness.js'

/** The built CLI, as `npx gatehouse` runs it (root `npm test` builds it first). */
export const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url))

export interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `gatehouse ARGS` as a child process with a clean environment: its own HOME and
 * XDG_CONFIG_HOME, and none of the outer shell's GATEHOUSE_* variables.
 */
export function gatehouse(args: string[], options: { env?: Record<string, string>; input?: string; cwd?: string } = {}): Promise<Result> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build -w packages/cli (npm test does)`)
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    cwd: options.cwd ?? tmpdir(),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  child.stdin.end(options.input ?? '')
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

/** A temporary folder removed by the returned function. */
export function tempDir(prefix = 'gatehouse-cli-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** The server harness (a fresh store, PGlite or PostgreSQL) on a real port. */
export async function liveServer(): Promise<Harness & { url: string }> {
  const h = await createHarness()
  await h.built.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = h.built.app.server.address() as AddressInfo
  return Object.assign(h, { url: `http://127.0.0.1:${port}` })
}

/** No stack trace reaches the user: a frame line would look like this. */
export const STACK_FRAME = /^\s+at .+\(.*:\d+:\d+\)$/m
