import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readConfig } from '../src/config.js'
import { createLogger } from '../src/logger.js'
import { startServer } from '../src/server.js'
import { buildApp } from '../src/app.js'
import { openTestDb, STORE, testKms, testSigner } from './harness.js'
import { MAIN, processHarness, tokenIn } from './process-harness.js'

const { onCleanup, tempDir, storeEnv, startProcess } = processHarness()

describe(`the server process on ${STORE}`, () => {
  it('prints a one-time admin token on the first start only, serves with it, and exits 0 on SIGTERM', async () => {
    const env = await storeEnv()
    const first = await startProcess(env)
    const token = tokenIn(first.output())
    expect(token).toBeDefined()
    expect(first.output()).toMatch(/Docs: +http:\/\/127\.0\.0\.1:\d+\/docs/)
    const space = await fetch(`${first.url}/v1/spaces/default`, { headers: { authorization: `Bearer ${token}` } })
    expect(space.status).toBe(200)
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)

    const second = await startProcess(env)
    expect(second.output()).not.toContain('Admin token')
    expect(tokenIn(second.output())).toBeUndefined()
    const again = await fetch(`${second.url}/v1/spaces/default`, { headers: { authorization: `Bearer ${token}` } })
    expect(again.status).toBe(200)
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  })

  it('stops at start-up on a bad setting, naming the variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { PATH: process.env.PATH ?? '', PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const code = await new Promise((resolve) => child.on('exit', resolve))
    expect(code).toBe(2)
    expect(stderr).toContain("PORT must be a whole number from 0 to 65535, got 'eighty'")
  })

  it.runIf(STORE === 'pglite')('refuses a second process on the same PGlite data directory', async () => {
    const env = await storeEnv()
    const first = await startProcess(env)
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { PATH: process.env.PATH ?? '', PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(1)
    expect(stderr).toContain(`another Gatehouse process (pid ${first.child.pid})`)
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)
  })

  it.runIf(STORE === 'postgres')('two processes starting at once on one empty PostgreSQL both come up, and only one prints a token', async () => {
    // Nodes of one deployment share the audit and master key files (a node with another key is refused).
    const keys = tempDir()
    const env = { ...(await storeEnv()), GATEHOUSE_AUDIT_KEY_FILE: join(keys, 'audit-signing-key.pem'), GATEHOUSE_MASTER_KEY_FILE: join(keys, 'master.key') }
    const [a, b] = await Promise.all([startProcess({ ...env, GATEHOUSE_DATA_DIR: tempDir() }), startProcess({ ...env, GATEHOUSE_DATA_DIR: tempDir() })])
    const tokens = [tokenIn(a.output()), tokenIn(b.output())].filter(Boolean)
    expect(tokens).toHaveLength(1)
    for (const running of [a, b]) {
      const response = await fetch(`${running.url}/v1/spaces/default`, { headers: { authorization: `Bearer ${tokens[0]}` } })
      expect(response.status).toBe(200)
    }
    a.child.kill('SIGTERM')
    b.child.kill('SIGTERM')
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0])
  })
})

describe('shutdown', () => {
  it('lets an in-flight request finish, refuses new ones, then closes the database', async () => {
    const env = await storeEnv()
    const config = readConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' })
    const server = await startServer(config, createLogger('silent'))
    onCleanup(() => server.close())
    const token = server.bootstrap!.adminToken.token

    // Hold the token table so the request's authentication waits: it is in flight when close starts.
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let locked!: () => void
    const isLocked = new Promise<void>((resolve) => (locked = resolve))
    const holder = server.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE tokens IN ACCESS EXCLUSIVE MODE')
      locked()
      await gate
    })
    await isLocked
    const inFlight = fetch(`${server.url}/v1/spaces/default`, { headers: { authorization: `Bearer ${token}` } })
    await new Promise((resolve) => setTimeout(resolve, 200))
    const closing = server.close()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const late = await fetch(`${server.url}/healthz`).then((response) => response.status, () => 'refused')
    expect([503, 'refused']).toContain(late)
    release()
    await holder
    expect((await inFlight).status).toBe(200)
    await closing
    await expect(server.db.query('SELECT 1')).rejects.toThrow()
  })
})

describe('start-up', () => {
  it('a taken port fails before the first start writes anything, so its one-time token is not lost', async () => {
    const env = await storeEnv()
    const blocker = await startServer(readConfig({ GATEHOUSE_DATA_DIR: tempDir(), PORT: '0' }), createLogger('silent'))
    onCleanup(() => blocker.close())
    const port = new URL(blocker.url).port
    const config = readConfig({ ...env, PORT: port })
    await expect(startServer(config, createLogger('silent'))).rejects.toThrow('EADDRINUSE')
    // Nothing was bootstrapped: the next start on a free port still prints its token.
    const next = await startServer({ ...config, port: 0 }, createLogger('silent'))
    onCleanup(() => next.close())
    expect(next.bootstrap?.adminToken.token).toMatch(/^ghs_/)
  })

  it('answers 503 until migrations have run', async () => {
    const testDb = await openTestDb()
    onCleanup(() => testDb.drop())
    const built = await buildApp({ db: testDb.db, signer: testSigner(), kms: testKms(), startGated: true })
    onCleanup(() => built.app.close())
    const early = await built.app.inject({ method: 'GET', url: '/v1/spaces/default' })
    expect(early.statusCode).toBe(503)
    expect(JSON.parse(early.body).error.message).toContain('starting')
    expect((await built.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503)
    expect((await built.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
  })
})
