/**
 * Issue 16: the SDK installs into an app outside this repository. `npm run pack` writes the
 * tarball; a fresh app under the OS temp dir installs it with npm and runs reference 000's two
 * snippets as plain `.mjs` files with `node` against a live server, then type-checks a `.ts`
 * consumer against the installed declarations.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listeningHarness, serviceAccountToken } from './listen.js'

const exec = promisify(execFile)
const repo = fileURLToPath(new URL('../../..', import.meta.url))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
/** npm run by vitest inherits npm_config_* of the outer `npm test`/`npx` (workspace, prefix…): not what a user's shell has. */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')))

// ---- reference 000's first snippet (upload.js), import renamed; `./db` is the app's own module ----
const uploadMjs = `import { GatehouseAPI } from '@gatehouse/sdk'
import db from './db.mjs'

const client = new GatehouseAPI()

async function upload() {
  const customers = await db.customers.list()

  await client.resource.bulkUpdate({
    resources: customers.map(c => ({
      kind: 'customer',
      id: c.id,
      displayName: c.name,
      labels: { plan: c.plan }
    }))
  })
}

await upload()
const { resources } = await client.resource.list({ kind: 'customer' })
console.log(\`uploaded \${resources.length}\`)
`
const dbMjs = `export default { customers: { list: async () => [
  { id: 'c_1', name: 'Acme Corp', plan: 'enterprise' },
  { id: 'c_2', name: 'Globex', plan: 'pro' },
  { id: 'c_42', name: 'Umbrella', plan: 'free' },
] } }
`
// ---- reference 000's second snippet (approval with getErrorKind), import renamed ----
const requestMjs = `import { approval, getErrorKind } from '@gatehouse/sdk'

const getCurrentUser = async (ctx) => ctx.user

async function requestCustomerAccess(ctx, customerId) {
  try {
    const user = await getCurrentUser(ctx)

    await approval({
      petitioners: [{ kind: 'user', id: user.id, email: user.email }],
      resources: [{ kind: 'customer', id: customerId }]
    })

    return { ok: true }
  } catch (err) {
    switch (getErrorKind(err)) {
      case 'waiting':
        // Once granted, it will auto-approve next time
        return { ok: false, status: 'waiting' }
      case 'denied':
        // Denied by reviewer or policy
        return { ok: false, status: 'denied' }
      default:
        console.error(err)
        return { ok: false, status: 'unknown' }
    }
  }
}

const ctx = { user: { id: 'u_7', email: 'agent@example.com' } }
console.log(JSON.stringify(await requestCustomerAccess(ctx, process.argv[2])))
`
// A TypeScript consumer: compiles only if the package ships its declarations (an untyped import
// is an error under strict, and each @ts-expect-error must meet a real type error).
const consumerTs = `import { GatehouseAPI, approval, getErrorKind, type ErrorKind, type ResourcePage } from '@gatehouse/sdk'
import { GatehouseAPI as BrowserAPI } from '@gatehouse/sdk/client'

const client = new GatehouseAPI({ baseUrl: 'http://127.0.0.1:8080', space: 'default', token: 't' })
export async function firstIds(): Promise<string[]> {
  const page: ResourcePage = await client.resource.list({ kind: 'customer' })
  // @ts-expect-error lists answer in the REST API's envelope, not { items }
  void page.items
  return page.resources.map((resource) => resource.id)
}
export async function kind(): Promise<ErrorKind> {
  // @ts-expect-error resources need a kind
  await approval({ petitioners: [], resources: [{ id: 'c_1' }] }).catch(() => undefined)
  const { received }: { received: number } = await client.resource.bulkUpdate({ resources: [] })
  return received > 0 ? 'unknown' : getErrorKind(new Error('x'))
}
// The browser entry, in session mode: its own subpath export, with the same types.
const browser = new BrowserAPI({ baseUrl: '/', space: 'default', credentials: 'same-origin', csrfToken: () => 'x' })
export async function userIds(): Promise<string[]> {
  const { users } = await browser.user.list({ limit: 10 })
  // @ts-expect-error a user has no login field
  void users[0]?.login
  for await (const event of browser.audit.export({ event: 'grant/revoke' })) void event.seq
  return users.map((user) => user.id)
}
`

let h: Awaited<ReturnType<typeof listeningHarness>>
let app: string
let env: Record<string, string>

beforeAll(async () => {
  const started = Date.now()
  const version = JSON.parse(await readFile(join(repo, 'packages/sdk/package.json'), 'utf8')).version as string
  // The tarball `npm run pack` writes, packed from the `dist` that `npm install` built (prepare):
  // `npm run pack` would rebuild `dist` in place while other test files' child processes load it.
  if (!existsSync(join(repo, 'packages/sdk/dist/index.js'))) throw new Error('packages/sdk/dist is missing: run npm install first')
  app = await mkdtemp(join(tmpdir(), 'gatehouse-sdk-app-'))
  const tarball = join(app, `gatehouse-sdk-${version}.tgz`)
  await exec(npm, ['pack', '-w', 'packages/sdk', '--ignore-scripts', '--pack-destination', app], { cwd: repo, env: cleanEnv })
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }))
  await exec(npm, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, env: cleanEnv })
  await Promise.all([
    writeFile(join(app, 'upload.mjs'), uploadMjs),
    writeFile(join(app, 'db.mjs'), dbMjs),
    writeFile(join(app, 'request.mjs'), requestMjs),
    writeFile(join(app, 'consumer.ts'), consumerTs),
    writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(repo, 'node_modules/@types')] },
        files: ['consumer.ts'],
      }),
    ),
  ])
  h = await listeningHarness()
  env = {
    PATH: process.env.PATH ?? '',
    GATEHOUSE_URL: h.url,
    GATEHOUSE_SPACE: 'default',
    GATEHOUSE_API_TOKEN: await serviceAccountToken(h, ['resources:write', 'resources:read', 'access:request']),
    GATEHOUSE_APPROVAL_WAIT_MS: '0',
  }
  console.log(`packed and installed in ${Date.now() - started} ms`)
}, 120_000)
afterAll(async () => {
  await h?.close()
  if (app) await rm(app, { recursive: true, force: true })
})

const node = async (script: string, ...args: string[]) => (await exec(process.execPath, [script, ...args], { cwd: app, env })).stdout.trim()

describe('the packed SDK in an app outside the workspace', () => {
  it('is a real copy with its declarations, README and runtime dependency, and no sources', async () => {
    const installed = join(app, 'node_modules/@gatehouse/sdk')
    expect(existsSync(join(installed, 'dist/index.js'))).toBe(true)
    expect(existsSync(join(installed, 'dist/index.d.ts'))).toBe(true)
    expect(existsSync(join(installed, 'README.md'))).toBe(true)
    expect(existsSync(join(installed, 'src'))).toBe(false)
    expect(existsSync(join(installed, 'dist/index.js.map'))).toBe(false)
    expect(existsSync(join(app, 'node_modules/standardwebhooks/package.json'))).toBe(true)
    expect(JSON.parse(await readFile(join(app, 'package.json'), 'utf8')).dependencies['@gatehouse/sdk']).toMatch(/^file:.*gatehouse-sdk-.*\.tgz$/)
  })

  it("runs reference 000's upload snippet with node", async () => {
    expect(await node('upload.mjs')).toBe('uploaded 3')
    const listed = await h.request('GET', '/v1/spaces/default/resources?kind=customer', { token: h.adminToken })
    expect(listed.body.resources.map((resource: { id: string; labels: { plan: string } }) => [resource.id, resource.labels.plan])).toEqual([
      ['c_1', 'enterprise'],
      ['c_2', 'pro'],
      ['c_42', 'free'],
    ])
  })

  it("runs reference 000's approval snippet: waiting, then ok once a reviewer approves", async () => {
    expect(JSON.parse(await node('request.mjs', 'c_42'))).toEqual({ ok: false, status: 'waiting' })
    const open = await h.request('GET', '/v1/spaces/default/petitions?state=open', { token: h.adminToken })
    const petition = open.body.petitions.find((p: { resources: Array<{ id: string }> }) => p.resources[0]!.id === 'c_42')
    const reviewer = await h.createUser('reviewer')
    const reviewed = await h.request('POST', `/v1/spaces/default/petitions/${petition.id}:review`, { token: reviewer.token, body: { decision: 'approve' } })
    expect(reviewed.status).toBe(200)
    expect(JSON.parse(await node('request.mjs', 'c_42'))).toEqual({ ok: true })
  })

  it('serves @gatehouse/sdk/client, the browser entry, with every namespace', async () => {
    await writeFile(join(app, 'client.mjs'), "import * as sdk from '@gatehouse/sdk/client'\nconst c = new sdk.GatehouseAPI({ space: 'default' })\nconsole.log(typeof c.vault.connect, typeof c.audit.export, 'verifyWebhook' in sdk)\n")
    expect(await node('client.mjs')).toBe('function function false')
  })

  it('type-checks a TypeScript consumer against the installed declarations', async () => {
    const tsc = join(repo, 'node_modules/typescript/bin/tsc')
    const result = await exec(process.execPath, [tsc, '-p', join(app, 'tsconfig.json')], { cwd: app }).catch((error: { stdout: string }) => error)
    expect(result.stdout).toBe('')
  })
})
