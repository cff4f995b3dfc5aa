import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { E2E_ENABLED, expectAccessible, personSignedIn, screenshot, startConsoleServer, PASSWORD, type ConsoleServer, eventually } from './e2e-harness.js'

describe.skipIf(!E2E_ENABLED)('console shell in Chromium', () => {
  let server: ConsoleServer
  beforeAll(async () => {
    server = await startConsoleServer()
  })
  afterAll(() => server?.close())

  it('signs in, shows the navigation for the role, and a session signed out is refused afterwards', async () => {
    const member = await personSignedIn(server, 'member')
    const { page } = member
    await eventually(() => new URL(page.url()).pathname).toBe('/console/request')
    const nav = page.getByRole('navigation', { name: 'Console' })
    await eventually(() => nav.getByRole('link').allTextContents()).toEqual(['Request access', 'Grants', 'Vault explorer'])
    // The session cookie is HttpOnly: scripts on the page cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain('gatehouse_session')
    const cookies = await member.context.cookies()
    const session = cookies.find((cookie) => cookie.name === 'gatehouse_session')!
    expect(session.httpOnly).toBe(true)
    expect(session.sameSite).toBe('Lax')

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    // The old cookie value, replayed, is refused: sign-out revoked the token.
    const replay = await server.h.request('GET', '/v1/spaces/default/auth/me', { headers: { cookie: `gatehouse_session=${session.value}` } })
    expect(replay.status).toBe(401)
    expect(replay.body.error.code).toBe('token_revoked')
    expect(member.problems).toEqual([])
    await member.context.close()
  })

  it('shows the server message for a wrong password, and the sign-in screen passes axe', async () => {
    const context = await server.browser.newContext()
    const page = await context.newPage()
    await page.goto(`${server.url}/console/`)
    await page.getByLabel('Email').fill('nobody@example.com')
    await page.getByLabel('Password').fill('not the password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await eventually(() => page.getByRole('alert').textContent()).toContain('email or password is wrong')
    await screenshot(page, 'sign-in')
    await expectAccessible(page, 'sign-in')
    await context.close()
  })

  it('returns to sign-in when the session is revoked elsewhere', async () => {
    const member = await personSignedIn(server, 'member')
    const tokens = await server.h.request('GET', `/v1/spaces/default/tokens?subject=${member.id}`, { token: server.h.adminToken })
    for (const token of tokens.body.tokens) await server.h.request('POST', `/v1/spaces/default/tokens/${token.id}:revoke`, { token: server.h.adminToken })
    await member.page.reload()
    await member.page.getByRole('button', { name: 'Sign in' }).waitFor()
    await member.context.close()
  })

  it('creates the first admin from the printed admin token, then is signed in as that admin', async () => {
    const context = await server.browser.newContext({ viewport: { width: 390, height: 844 } })
    const page = await context.newPage()
    await page.goto(`${server.url}/console/setup`)
    await page.getByLabel('Admin token').fill('ghs_wrong')
    await page.getByLabel('Your name').fill('First Admin')
    await page.getByLabel('Your email').fill('first-admin@example.com')
    await page.getByLabel('Password (at least 12 characters)').fill(PASSWORD)
    await page.getByRole('button', { name: 'Create admin and sign in' }).click()
    await eventually(() => page.getByRole('alert').textContent()).toContain('token is not valid')
    await expectAccessible(page, 'setup')
    await screenshot(page, 'setup')
    await page.getByLabel('Admin token').fill(server.h.adminToken)
    await page.getByRole('button', { name: 'Create admin and sign in' }).click()
    await page.getByRole('button', { name: 'Sign out' }).waitFor()
    // A phone: the navigation folds behind the Menu button.
    await page.getByRole('button', { name: 'Menu' }).click()
    await eventually(() => page.getByRole('navigation', { name: 'Console' }).getByRole('link').allTextContents()).toContain('Audit')
    await context.close()
  })
})
