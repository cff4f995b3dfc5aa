/**
 * Issue 16: the packed CLI installs outside the workspace. `npm pack` of the SDK and the CLI (what
 * `npm run pack` writes), both tarballs installed into a fresh app under the OS temp dir, then the
 * installed `gatehouse` bin runs --help and a real command against a live server; `serve` says what
 * to do instead, since the server is not part of the package.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { liveServer } from './helpers.js'

const exec = promisify(execFile)
const repo = fileURLToPath(new URL('../../..', import.meta.url))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
/** npm run by vitest inherits npm_config_* of the outer `npm test` (workspace, prefix…): not what a user's shell has. */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_') && !key.startsWith('GATEHOUSE_')))

let h: Awaited<ReturnType<typeof liveServer>>
let app: string

beforeAll(async () => {
  for (const dist of ['packages/sdk/dist/index.js', 'packages/cli/dist/main.js']) {
    if (!existsSync(join(repo, dist))) throw new Error(`${dist} is missing: npm test builds it (npm run build -w packages/sdk -w packages/cli)`)
  }
  app = await mkdtemp(join(tmpdir(), 'gatehouse-cli-app-'))
  // --ignore-scripts: packs the dist `npm test` just built instead of rebuilding it (prepare) while
  // other test files run it.
  await exec(npm, ['pack', '-w', 'packages/sdk', '-w', 'packages/cli', '--ignore-scripts', '--pack-destination', app], { cwd: repo, env: cleanEnv })
  const version = (name: string) => readFile(join(repo, `packages/${name}/package.json`), 'utf8').then((text) => JSON.parse(text).version as string)
  const tarballs = [join(app, `gatehouse-sdk-${await version('sdk')}.tgz`), join(app, `gatehouse-cli-${await version('cli')}.tgz`)]
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'cli-consumer', private: true, type: 'module' }))
  await exec(npm, ['install', ...tarballs, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, env: cleanEnv })
  h = await liveServer()
}, 180_000)
afterAll(async () => {
  await h?.close()
  if (app) await rm(app, { recursive: true, force: true })
})

const bin = () => join(app, 'node_modules/.bin/gatehouse')
const run = (args: string[]) =>
  exec(bin(), args, { cwd: app, env: { ...cleanEnv, HOME: app, XDG_CONFIG_HOME: join(app, '.config') } }).then(
    (result) => ({ code: 0, ...result }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  )

describe('the packed CLI in an app outside the workspace', () => {
  it('installs with the packed SDK: compiled JS only, its own dependencies, the bin linked', async () => {
    const installed = join(app, 'node_modules/@gatehouse/cli')
    expect(existsSync(join(installed, 'dist/main.js'))).toBe(true)
    expect(existsSync(join(installed, 'src'))).toBe(false)
    expect(existsSync(join(app, 'node_modules/@gatehouse/sdk/dist/index.js'))).toBe(true)
    expect(existsSync(join(app, 'node_modules/commander/package.json'))).toBe(true)
    expect(existsSync(bin())).toBe(true)
  })

  it('runs --help, a real command against a live server, and explains that serve needs the repository', async () => {
    const help = await run(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: gatehouse')
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 error, 2 usage, 3 waiting')

    const login = await run(['login', '--url', h.url, '--token', h.adminToken])
    expect(login.code, login.stderr).toBe(0)
    await writeFile(join(app, 'c.csv'), 'kind,id,displayName\ncustomer,c_1,Acme\ncustomer,c_2,Globex\n')
    const upload = await run(['resources', 'upload', 'c.csv'])
    expect(upload.code, upload.stderr).toBe(0)
    const listed = await run(['resources', 'list', '--json'])
    expect(JSON.parse(listed.stdout).resources.map((r: { id: string }) => r.id).sort()).toEqual(['c_1', 'c_2'])

    const serve = await run(['serve'])
    expect(serve.code).toBe(1)
    expect(serve.stderr).toContain('the Gatehouse server is not installed here')
    expect(serve.stderr).toContain('npm install && npm start')
  })
})
