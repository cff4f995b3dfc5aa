/**
 * `gatehouse login --sso PROVIDER` against a real OpenID provider (oidc-provider in-process): the CLI
 * prints the sign-in URL, "the browser" (this test, with a cookie jar) signs in at the IdP and
 * follows the redirects back to the CLI's loopback; the CLI saves a working user token.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CookieJar, hop, loginAtIdp, startTestIdp } from '../../server/test/sso-helpers.js'
import { CLI, gatehouse, liveServer, tempDir } from './helpers.js'

let server: Awaited<ReturnType<typeof liveServer>>
let idp: Awaited<ReturnType<typeof startTestIdp>>

beforeAll(async () => {
  server = await liveServer()
  idp = await startTestIdp({
    redirectUris: [`${server.url}/v1/spaces/default/sso/corp/callback`],
    users: { carol: { email: 'carol@example.com', email_verified: true, name: 'Carol' } },
  })
  const created = await server.request('POST', '/v1/spaces/default/sso/providers', {
    token: server.adminToken,
    body: { id: 'corp', displayName: 'Corp', issuer: idp.issuer, clientId: 'gatehouse', clientSecret: 'gatehouse-secret', scopes: ['openid', 'email', 'profile'] },
  })
  expect(created.status, created.text).toBe(201)
})

afterAll(async () => {
  await server?.close()
  await idp?.close()
})

it('login --sso saves a working user token after the browser sign-in; an unknown provider is refused before any browser opens', async () => {
  const dir = tempDir()
  try {
    const env = { XDG_CONFIG_HOME: dir.dir, HOME: dir.dir }
    const child = spawn(process.execPath, [CLI, 'login', '--url', server.url, '--space', 'default', '--sso', 'corp', '--no-browser'], { env: { PATH: process.env.PATH ?? '', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
        const found = stderr.match(/https?:\/\/\S+\/sso\/corp\/start\S*/)
        if (found) resolve(found[0])
      })
      child.on('close', () => reject(new Error(`the CLI exited before printing the URL: ${stderr}`)))
    })
    const jar = new CookieJar()
    const callback = await hop(jar, await loginAtIdp(jar, url, idp.issuer, 'carol'))
    expect(callback.status, callback.body).toBe(302)
    await hop(jar, callback.location!)
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    expect(code, stderr).toBe(0)
    expect(stdout).toContain('as carol@example.com (user, role member)')
    const saved = JSON.parse(readFileSync(join(dir.dir, 'gatehouse', 'config.json'), 'utf8'))
    expect(saved.profiles.default.token).toMatch(/^ghu_/)
    const whoami = await gatehouse(['whoami', '--json'], { env })
    expect(whoami.code, whoami.stderr).toBe(0)
    expect(JSON.parse(whoami.stdout).display).toBe('carol@example.com')

    const unknown = await gatehouse(['login', '--url', server.url, '--space', 'default', '--sso', 'nope', '--no-browser'], { env })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("no enabled single sign-on provider 'nope'; it has: corp (Corp)")
  } finally {
    dir.remove()
  }
})
