import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'
import { startTestIdp } from './sso-helpers.js'

/**
 * The browser flow walked in Chromium through the server's routes: start → the IdP's login form →
 * callback → session cookie set → landed on returnTo. SSO_SCREENSHOT_DIR=docs/images saves the
 * filled-in login form (how docs/images/sso-idp-login.png was made).
 */
const CHROMIUM = '/usr/bin/chromium'
let h: Harness
let idp: Awaited<ReturnType<typeof startTestIdp>>
let browser: Browser
let base: string

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  h = await createHarness()
  await h.built.app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(h.built.app.server.address() as AddressInfo).port}`
  idp = await startTestIdp({
    redirectUris: [`${base}/v1/spaces/default/sso/corp/callback`],
    users: { grace: { email: 'grace@example.com', email_verified: true, name: 'Grace Hopper', groups: ['oncall'] } },
  })
  const created = await h.request('POST', '/v1/spaces/default/sso/providers', {
    token: h.adminToken,
    body: { id: 'corp', displayName: 'Corp SSO', issuer: idp.issuer, clientId: 'gatehouse', clientSecret: 'gatehouse-secret', scopes: ['openid', 'email', 'profile', 'groups'] },
  })
  expect(created.status, created.text).toBe(201)
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] })
})

afterAll(async () => {
  await browser?.close()
  await h?.close()
  await idp?.close()
})

it("Chromium clicks the console's 'Sign in with …' button, signs in at the IdP and lands in the console with the session cookie", async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  const shots = process.env.SSO_SCREENSHOT_DIR
  try {
    const options = await (await page.request.get(`${base}/v1/spaces/default/sso/sign-in-options`)).json()
    expect(options.providers).toEqual([{ id: 'corp', displayName: 'Corp SSO' }])

    // The console's sign-in page shows the space's provider; the button starts the flow.
    await page.goto(`${base}/console/`)
    const button = page.getByRole('link', { name: 'Sign in with Corp SSO' })
    await button.waitFor()
    if (shots) await page.screenshot({ path: `${shots}/sso-console-sign-in.png` })
    await button.click()
    await page.waitForURL(`${idp.issuer}/interaction/**`)
    await page.fill('input[name="login"]', 'grace')
    await page.fill('input[name="password"]', 'anything')
    if (shots) await page.screenshot({ path: `${shots}/sso-idp-login.png` })
    await page.click('button[type="submit"]')
    await page.waitForURL(`${base}/console/**`)
    // Signed in: the console's shell, not its sign-in form.
    await page.getByRole('button', { name: 'Sign out' }).waitFor()
    await page.getByText('grace@example.com').first().waitFor()
    if (shots) await page.screenshot({ path: `${shots}/sso-console-signed-in.png` })

    const cookies = await context.cookies(base)
    const session = cookies.find((c) => c.name === 'gatehouse_session')
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' })
    expect(session!.value).toMatch(/^ghu_/)
    expect(cookies.find((c) => c.name === 'gatehouse_csrf')?.httpOnly).toBe(false)
    // The flow cookie is spent.
    expect(cookies.find((c) => c.name === 'gatehouse_sso_state')).toBeUndefined()

    const me = await h.request('GET', '/v1/spaces/default/auth/me', { token: session!.value })
    expect(me.body).toMatchObject({ kind: 'user', display: 'grace@example.com', role: 'member' })
  } finally {
    await context.close()
  }
})
