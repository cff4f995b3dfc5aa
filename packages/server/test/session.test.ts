import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { csrfTokenFor } from '../src/modules/auth/session-cookies.js'
import { createHarness, type Harness } from './harness.js'

const PASSWORD = 'correct horse battery staple'

/** name=value pairs and attributes of each Set-Cookie header. */
function cookiesOf(headers: Record<string, unknown>): Map<string, { value: string; attributes: string }> {
  const raw = headers['set-cookie']
  const list = Array.isArray(raw) ? raw : raw ? [raw] : []
  const cookies = new Map<string, { value: string; attributes: string }>()
  for (const line of list as string[]) {
    const [pair, ...attributes] = line.split(';')
    const eq = pair!.indexOf('=')
    cookies.set(pair!.slice(0, eq).trim(), { value: pair!.slice(eq + 1).trim(), attributes: attributes.join(';').toLowerCase() })
  }
  return cookies
}

describe('browser session: cookies and CSRF', () => {
  let h: Harness
  let user: { id: string; email: string }

  beforeAll(async () => {
    h = await createHarness()
    user = await h.createUser('reviewer', { password: PASSWORD })
    const uploaded = await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources: [{ kind: 'customer', id: 'c_1' }] } })
    expect(uploaded.status).toBe(200)
  })
  afterAll(() => h.close())

  async function signIn() {
    const response = await h.request('POST', '/v1/spaces/default/auth/session', { body: { email: user.email, password: PASSWORD } })
    expect(response.status).toBe(200)
    const cookies = cookiesOf(response.headers)
    const session = cookies.get('gatehouse_session')!.value
    const csrf = cookies.get('gatehouse_csrf')!.value
    return { response, session, csrf, cookie: `gatehouse_session=${session}; gatehouse_csrf=${csrf}` }
  }

  it('signs in into an HttpOnly, SameSite=Lax session cookie that expires with the token, and a readable CSRF cookie', async () => {
    const { response, session, csrf } = await signIn()
    expect(response.body).toMatchObject({ userId: user.id, email: user.email, role: 'reviewer', csrfToken: csrf })
    expect(response.body).not.toHaveProperty('token')
    expect(session).toMatch(/^ghu_/)
    expect(csrf).toBe(csrfTokenFor(session))
    const cookies = cookiesOf(response.headers)
    const sessionAttrs = cookies.get('gatehouse_session')!.attributes
    expect(sessionAttrs).toContain('httponly')
    expect(sessionAttrs).toContain('samesite=lax')
    expect(sessionAttrs).toContain('path=/')
    // Plain HTTP here: Secure would make the browser drop the cookie.
    expect(sessionAttrs).not.toContain('secure')
    const expires = /expires=([^;]+)/.exec(sessionAttrs)![1]!
    expect(Math.abs(Date.parse(expires) - Date.parse(response.body.expiresAt))).toBeLessThan(1000)
    expect(cookies.get('gatehouse_csrf')!.attributes).not.toContain('httponly')
  })

  it('authenticates GETs by the cookie alone', async () => {
    const { cookie } = await signIn()
    const me = await h.request('GET', '/v1/spaces/default/auth/me', { headers: { cookie } })
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ kind: 'user', subjectId: user.id, role: 'reviewer' })
  })

  it('refuses a state-changing call with the cookie but without, or with a wrong, x-csrf-token (403 csrf_failed)', async () => {
    const { cookie, csrf } = await signIn()
    const body = { petitioners: [{ kind: 'user', id: user.id, email: user.email }], resources: [{ kind: 'customer', id: 'c_1' }], reason: 'csrf test' }
    const missing = await h.request('POST', '/v1/spaces/default/petitions', { headers: { cookie }, body })
    expect(missing.status).toBe(403)
    expect(missing.body.error.code).toBe('csrf_failed')
    expect(missing.body.error.message).toContain('x-csrf-token')
    const wrong = await h.request('POST', '/v1/spaces/default/petitions', { headers: { cookie, 'x-csrf-token': csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }, body })
    expect(wrong.status).toBe(403)
    expect(wrong.body.error.code).toBe('csrf_failed')
    // Another session's CSRF token does not fit this one.
    const other = await signIn()
    const crossed = await h.request('POST', '/v1/spaces/default/petitions', { headers: { cookie, 'x-csrf-token': other.csrf }, body })
    expect(crossed.body.error.code).toBe('csrf_failed')
    const ok = await h.request('POST', '/v1/spaces/default/petitions', { headers: { cookie, 'x-csrf-token': csrf }, body })
    expect(ok.status, ok.text).toBeLessThan(300)
  })

  it('prefers an Authorization header over the cookie, so API clients never meet the CSRF check', async () => {
    const { cookie } = await signIn()
    const admin = await h.request('GET', '/v1/spaces/default/auth/me', { headers: { cookie }, token: h.adminToken })
    expect(admin.body.kind).toBe('service_account')
  })

  it('signs out: revokes the token, clears the cookies, and the old cookie is refused afterwards (401)', async () => {
    const { cookie, csrf, session } = await signIn()
    const noCsrf = await h.request('DELETE', '/v1/spaces/default/auth/session', { headers: { cookie } })
    expect(noCsrf.status).toBe(403)
    const out = await h.request('DELETE', '/v1/spaces/default/auth/session', { headers: { cookie, 'x-csrf-token': csrf } })
    expect(out.status).toBe(204)
    const cleared = cookiesOf(out.headers)
    expect(cleared.get('gatehouse_session')!.value).toBe('')
    expect(cleared.get('gatehouse_session')!.attributes).toMatch(/expires=thu, 01 jan 1970|max-age=0/)
    const after = await h.request('GET', '/v1/spaces/default/auth/me', { headers: { cookie } })
    expect(after.status).toBe(401)
    expect(after.body.error.code).toBe('token_revoked')
    // The same token as a bearer is refused too: sign-out revoked it, not just the cookie.
    expect((await h.request('GET', '/v1/spaces/default/auth/me', { token: session })).status).toBe(401)
  })

  it('refuses a wrong password without setting any cookie', async () => {
    const wrong = await h.request('POST', '/v1/spaces/default/auth/session', { body: { email: user.email, password: 'not the password at all' } })
    expect(wrong.status).toBe(401)
    expect(wrong.body.error.code).toBe('invalid_credentials')
    expect(wrong.headers['set-cookie']).toBeUndefined()
  })

  it('marks the cookies Secure when the request came over HTTPS through a trusted proxy, and only then', async () => {
    const trusting = await buildApp({ db: h.db, signer: h.signer, kms: h.kms, trustProxy: true })
    const untrusting = await buildApp({ db: h.db, signer: h.signer, kms: h.kms, trustProxy: false })
    try {
      const payload = { email: user.email, password: PASSWORD }
      const viaProxy = await trusting.app.inject({ method: 'POST', url: '/v1/spaces/default/auth/session', headers: { 'x-forwarded-proto': 'https' }, payload })
      expect(viaProxy.statusCode).toBe(200)
      expect(cookiesOf(viaProxy.headers).get('gatehouse_session')!.attributes).toContain('secure')
      const spoofed = await untrusting.app.inject({ method: 'POST', url: '/v1/spaces/default/auth/session', headers: { 'x-forwarded-proto': 'https' }, payload })
      expect(cookiesOf(spoofed.headers).get('gatehouse_session')!.attributes).not.toContain('secure')
    } finally {
      await trusting.app.close()
      await untrusting.app.close()
    }
  })
})

describe('serving the console', () => {
  let h: Harness
  let dist: string
  beforeAll(async () => {
    h = await createHarness()
    dist = mkdtempSync(join(tmpdir(), 'gatehouse-console-'))
    mkdirSync(join(dist, 'assets'))
    writeFileSync(join(dist, 'index.html'), '<!doctype html><script type="module" src="/console/assets/app-abc123.js"></script>')
    writeFileSync(join(dist, 'assets', 'app-abc123.js'), 'console.log(1)')
  })
  afterAll(async () => {
    await h.close()
    rmSync(dist, { recursive: true, force: true })
  })

  it('redirects / and /console to /console/, serves index.html with no-cache and a strict CSP, and falls back to it for client routes', async () => {
    const built = await buildApp({ db: h.db, signer: h.signer, kms: h.kms, consoleDistDir: dist })
    try {
      const root = await built.app.inject({ method: 'GET', url: '/' })
      expect(root.statusCode).toBe(302)
      expect(root.headers.location).toBe('/console/')
      expect((await built.app.inject({ method: 'GET', url: '/console' })).headers.location).toBe('/console/')
      for (const url of ['/console/', '/console/inbox', '/console/vault/tickets?x=1']) {
        const page = await built.app.inject({ method: 'GET', url })
        expect(page.statusCode, url).toBe(200)
        expect(page.headers['content-type']).toContain('text/html')
        expect(page.body).toContain('app-abc123.js')
        expect(page.headers['cache-control']).toBe('no-cache')
        const csp = String(page.headers['content-security-policy'])
        expect(csp).toContain("script-src 'self'")
        expect(csp).not.toContain('unsafe-inline')
        expect(csp).toContain("frame-ancestors 'none'")
        expect(csp).toContain("object-src 'none'")
        expect(csp).toContain("base-uri 'none'")
      }
      const asset = await built.app.inject({ method: 'GET', url: '/console/assets/app-abc123.js' })
      expect(asset.statusCode).toBe(200)
      expect(asset.headers['cache-control']).toContain('immutable')
      expect(asset.headers['cache-control']).toContain('max-age=31536000')
      // A missing asset is a 404, not index.html (a stale page must not run HTML as a script).
      expect((await built.app.inject({ method: 'GET', url: '/console/assets/gone-000.js' })).statusCode).toBe(404)
    } finally {
      await built.app.close()
    }
  })

  it('answers 503 with how to build it when the console was not built', async () => {
    const built = await buildApp({ db: h.db, signer: h.signer, kms: h.kms, consoleDistDir: join(dist, 'nothing-here') })
    try {
      const page = await built.app.inject({ method: 'GET', url: '/console/' })
      expect(page.statusCode).toBe(503)
      expect(page.body).toContain('npm run build')
      expect(page.headers['content-security-policy']).toContain("default-src 'self'")
    } finally {
      await built.app.close()
    }
  })
})
