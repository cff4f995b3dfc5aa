/**
 * `gatehouse init` makes the store and prints the one-time admin token without serving; `gatehouse
 * serve` then runs the server on that store (as `npm start` does), the token works, and SIGTERM
 * stops it cleanly. On PGlite (a data directory) or PostgreSQL (DATABASE_URL).
 */
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { STORE } from '../../server/test/harness.js'
import { processHarness } from '../../server/test/process-harness.js'
import { CLI, gatehouse } from './helpers.js'

const { onCleanup, tempDir, storeEnv } = processHarness('gatehouse-cli-serve-')

describe(`gatehouse init and serve on ${STORE}`, () => {
  it('init prints a token once, serve serves that store with it, SIGTERM exits 0', async () => {
    const env = { ...(await storeEnv()), HOME: tempDir(), LOG_LEVEL: 'warn' }
    const init = await gatehouse(['init', '--json'], { env })
    expect(init.code, init.stderr).toBe(0)
    const { adminToken, space } = JSON.parse(init.stdout) as { adminToken: string; space: string }
    expect(space).toBe('default')
    expect(adminToken).toMatch(/^ghs_[a-z2-7]+$/)
    const again = await gatehouse(['init'], { env })
    expect(again.code).toBe(0)
    expect(again.stderr).toContain('already holds a space')
    expect(again.stdout).not.toContain('ghs_')

    const serve = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    onCleanup(() => {
      if (serve.exitCode === null) serve.kill('SIGKILL')
    })
    let output = ''
    serve.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within 60 s:\n${output}`)), 60_000)
      serve.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        const match = /API: +(http:\/\/[^\s]+)\/v1/.exec(output)
        if (match && output.includes('Store:')) {
          clearTimeout(timer)
          resolve(match[1]!)
        }
      })
      serve.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${output}`)))
    })
    // The store init made: no second token, and init's token is the admin of it.
    expect(output).not.toContain('Admin token')
    const me = await gatehouse(['--url', url, '--token', adminToken, 'whoami', '--json'], { env })
    expect(me.code, me.stderr).toBe(0)
    expect(JSON.parse(me.stdout)).toMatchObject({ space: 'default', role: 'admin' })

    const exited = new Promise<number | null>((resolve) => serve.on('exit', (code) => resolve(code)))
    serve.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 240_000) // three server starts (init twice, serve), each migrating or opening a store

  it('a bad server flag is a usage error (exit 2) naming it', async () => {
    const result = await gatehouse(['serve', '--port', 'eighty'], { env: { HOME: tempDir(), GATEHOUSE_DATA_DIR: tempDir() } })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("PORT must be a whole number from 0 to 65535, got 'eighty'")
  })
})
