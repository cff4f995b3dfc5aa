import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setUpConsoleVault } from '../../server/test/console-vault-fixture.js'
import { E2E_ENABLED, go, personSignedIn, startConsoleServer, tableRows, type ConsoleServer, type Person, eventually } from './e2e-harness.js'

/** Each screen's main action beyond the walk, and its main error shown with the server's own message. */
describe.skipIf(!E2E_ENABLED)('console screens: main actions and errors', () => {
  let server: ConsoleServer
  let member: Person
  let reviewer: Person

  beforeAll(async () => {
    server = await startConsoleServer()
    await setUpConsoleVault(server.h)
    member = await personSignedIn(server, 'member')
    reviewer = await personSignedIn(server, 'reviewer')
  })
  afterAll(() => server?.close())

  const ask = (customer: string, reason = 'screens test') =>
    server.h.request('POST', '/v1/spaces/default/petitions', {
      token: server.h.adminToken,
      body: { petitioners: [{ kind: 'user', id: member.id, email: member.email }], resources: [{ kind: 'customer', id: customer }], reason },
    })

  it('Request access: break-glass without a reason shows the server refusal; cancelling an open request', async () => {
    const m = member.page
    await go(m, 'Request access')
    await m.getByLabel('Labels').fill('region:us')
    await eventually(() => tableRows(m)).toHaveLength(1)
    await m.getByRole('checkbox', { name: 'Ask for customer:c_7' }).check()
    await m.getByLabel('Reason').fill('   ')
    await m.getByLabel('Break-glass (where a policy allows it)').check()
    await m.getByRole('button', { name: 'Request access' }).click()
    await eventually(() => m.getByRole('alert').allTextContents()).toContainEqual(expect.stringContaining('break-glass access needs a reason'))
    // A label filter that is not name:value is explained before anything is sent.
    await m.getByLabel('Labels').fill('region')
    await eventually(() => m.getByRole('alert').allTextContents()).toContainEqual(expect.stringContaining("label filter 'region' should look like name:value"))
    await m.getByLabel('Labels').fill('')

    await m.getByLabel('Break-glass (where a policy allows it)').uncheck()
    await m.getByLabel('Reason').fill('look at the refund')
    await m.getByRole('button', { name: 'Request access' }).click()
    await m.getByRole('status').filter({ hasText: 'Request sent (open)' }).waitFor()
    const mine = m.locator('li.petition', { hasText: 'look at the refund' })
    await mine.getByRole('button', { name: 'Cancel request' }).click()
    await eventually(() => mine.textContent()).toContain('cancelled')
  })

  it('Inbox: deny from the keyboard; a decision on a petition that closed meanwhile shows the server conflict', async () => {
    const r = reviewer.page
    const denied = await ask('c_7', 'deny me')
    expect(denied.status).toBe(201)
    await go(r, 'Inbox')
    const card = r.locator('li.petition', { hasText: 'deny me' })
    await card.waitFor()
    await r.locator('h1').click()
    await r.keyboard.press('d')
    await eventually(() => r.evaluate(() => document.activeElement?.id)).toBe(`deny-${denied.body.id}`)
    await r.keyboard.type('not needed for this ticket')
    await r.keyboard.press('Enter')
    await card.waitFor({ state: 'detached' })
    const after = await server.h.request('GET', `/v1/spaces/default/petitions/${denied.body.id}`, { token: server.h.adminToken })
    expect(after.body).toMatchObject({ state: 'denied', reviews: [expect.objectContaining({ decision: 'deny', comment: 'not needed for this ticket' })] })

    const stale = await ask('c_42', 'cancelled behind your back')
    const staleCard = r.locator('li.petition', { hasText: 'cancelled behind your back' })
    await staleCard.waitFor()
    // Hold the inbox still (no polling answers) while the petition is cancelled elsewhere.
    await r.route('**/v1/spaces/default/petitions?*', (route) => route.abort())
    expect((await server.h.request('POST', `/v1/spaces/default/petitions/${stale.body.id}:cancel`, { token: server.h.adminToken })).status).toBe(200)
    await staleCard.getByRole('button', { name: 'Approve' }).click()
    await eventually(() => staleCard.getByRole('alert').textContent()).toContain(`petition ${stale.body.id} is already cancelled`)
    await r.unroute('**/v1/spaces/default/petitions?*')
  })

  it('Grants: filters by resource; a malformed person filter shows the server validation message', async () => {
    const r = reviewer.page
    await go(r, 'Grants')
    await r.getByLabel('Active only').uncheck()
    await r.getByLabel('Resource id').fill('c_nobody')
    await r.getByText('No grants match').waitFor()
    await r.getByLabel('Resource id').fill('')
    await r.getByLabel('Person (email)').fill('not-an-email')
    await eventually(() => r.getByRole('alert').textContent()).toContain('petitioner')
  })

  it('Vault explorer: the filter builder narrows rows; a pattern the server refuses shows its message', async () => {
    const granted = await ask('c_42', 'explore')
    await server.h.request('POST', `/v1/spaces/default/petitions/${granted.body.id}:review`, { token: reviewer.token, body: { decision: 'approve', durationSeconds: 3600 } })
    const m = member.page
    await go(m, 'Vault explorer')
    await m.getByLabel('Model').selectOption('tickets')
    await m.getByRole('button', { name: 'Add condition' }).click()
    await m.getByLabel('Field', { exact: true }).selectOption('subject')
    await m.getByLabel('Condition', { exact: true }).selectOption('$like')
    await m.getByLabel('Value', { exact: true }).fill('SSO%')
    await m.getByRole('button', { name: 'Find' }).click()
    await eventually(async () => (await tableRows(m)).map((row) => row.split(' | ')[0])).toEqual(['t2'])
    await m.getByLabel('Value', { exact: true }).fill('SSO\\')
    await m.getByRole('button', { name: 'Find' }).click()
    await eventually(() => m.getByRole('alert').textContent()).toContain('a pattern cannot end with an unescaped backslash')
    // A value of the wrong type is caught before sending.
    await m.getByLabel('Field', { exact: true }).selectOption('customer_id')
    await m.getByLabel('Condition', { exact: true }).selectOption('$exists')
    await m.getByLabel('Value', { exact: true }).fill('maybe')
    await m.getByRole('button', { name: 'Find' }).click()
    await eventually(() => m.getByRole('alert').allTextContents()).toContainEqual('customer_id: use true or false')
  })

  it('Audit: filters by event; verify reports a tampered event', async () => {
    const r = reviewer.page
    await go(r, 'Audit')
    await r.getByLabel('Event', { exact: true }).fill('access/deny')
    await eventually(async () => (await tableRows(r)).map((row) => row.split(' | ')[2])).toEqual(['access/deny'])
    await r.getByLabel('Event', { exact: true }).fill('')
    // Someone with database access rewrites history: verification must say where.
    const { rows } = await server.h.db.query<{ seq: string }>("SELECT seq FROM audit_events WHERE space_id = 'default' AND event = 'access/deny'")
    await server.h.db.query("UPDATE audit_events SET meta = jsonb_set(meta, '{comment}', '\"rewritten\"') WHERE space_id = 'default' AND seq = $1", [rows[0]!.seq])
    await r.getByRole('button', { name: 'Verify the chain' }).click()
    await eventually(() => r.getByRole('status').filter({ hasText: 'Chain' }).textContent()).toContain(`Chain broken at #${rows[0]!.seq}`)
  })
})
