import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { expect } from 'vitest'
import { createHarness, STORE, type Harness } from '../../server/test/harness.js'

/**
 * End-to-end tests: a real Gatehouse server (the test harness's app, listening on a free port, with
 * the built console) and Debian's Chromium through playwright-core. One browser per test file;
 * each person gets their own context (their own cookies), as two people on two machines would.
 */
export const CHROMIUM = '/usr/bin/chromium'
const CONSOLE_DIR = fileURLToPath(new URL('..', import.meta.url))
const SCREENSHOT_DIR = fileURLToPath(new URL('../../../docs/console/', import.meta.url))

/** The browser runs on PGlite only: the server-side logic it drives is covered on both stores by the HTTP tests. */
export const E2E_ENABLED = STORE === 'pglite' && existsSync(CHROMIUM)
if (STORE === 'pglite' && !existsSync(CHROMIUM)) {
  throw new Error(`${CHROMIUM} is missing: install Debian's Chromium with 'apt-get install -y chromium' (.ci/run does)`)
}

export const PASSWORD = 'correct horse battery staple'

export interface ConsoleServer {
  h: Harness
  url: string
  browser: Browser
  close(): Promise<void>
}

/** The console is built by `npm test` first; run alone, a test file builds it once if missing. */
function ensureBuilt(): void {
  if (existsSync(`${CONSOLE_DIR}/dist/index.html`)) return
  execFileSync('npm', ['run', 'build'], { cwd: CONSOLE_DIR, stdio: 'inherit' })
}

export async function startConsoleServer(): Promise<ConsoleServer> {
  ensureBuilt()
  const h = await createHarness()
  await h.built.app.listen({ host: '127.0.0.1', port: 0 })
  const address = h.built.app.server.address() as AddressInfo
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu'],
  })
  return {
    h,
    url: `http://127.0.0.1:${address.port}`,
    browser,
    async close() {
      await browser.close()
      await h.close()
    },
  }
}

export interface Person {
  id: string
  email: string
  context: BrowserContext
  page: Page
  /** Content-Security-Policy violations and uncaught errors seen on this person's pages. */
  problems: string[]
}

/** A person with a password, signed in through the console's sign-in screen in a context of their own. */
export async function personSignedIn(server: ConsoleServer, role: 'admin' | 'reviewer' | 'member', options: { viewport?: { width: number; height: number } } = {}): Promise<Person> {
  const user = await server.h.createUser(role, { password: PASSWORD })
  const context = await server.browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(error.message))
  await signIn(page, server.url, user.email)
  return { ...user, context, page, problems }
}

export async function signIn(page: Page, url: string, email: string, password = PASSWORD): Promise<void> {
  await page.goto(`${url}/console/`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
}

const require = createRequire(import.meta.url)
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

/** axe-core on the page as it is now: no serious or critical violations (WCAG 2 A/AA rules). */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (the page itself
  // could not load an inline script, and should not be able to).
  await page.evaluate(AXE_SOURCE)
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))
  })
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  expect(serious, `${screen}: ${JSON.stringify(serious, null, 2)}`).toEqual([])
}

/** docs/console/<name>.png, only when GATEHOUSE_SCREENSHOTS=1 (normal runs leave the tree alone). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.GATEHOUSE_SCREENSHOTS !== '1') return
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png`, fullPage: false })
}

/** Follows the navigation link (opening the phone menu first when it is folded). */
export async function go(page: Page, label: string): Promise<void> {
  const menu = page.getByRole('button', { name: 'Menu' })
  if ((await menu.isVisible()) && (await menu.getAttribute('aria-expanded')) !== 'true') await menu.click()
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: label }).click()
  await page.getByRole('heading', { level: 1, name: label }).waitFor()
}

/** The text of each body row of the first table on the page, cells joined by ' | '. */
export async function tableRows(page: Page): Promise<string[]> {
  return page.locator('table tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((cell) => (cell.textContent ?? '').trim()).join(' | ')))
}

/** expect.poll with room for a loaded machine: the browser and server share two cores with other work. */
export const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 })
