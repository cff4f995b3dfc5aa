import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setUpConsoleVault } from '../../server/test/console-vault-fixture.js'
import { E2E_ENABLED, expectAccessible, go, personSignedIn, screenshot, startConsoleServer, tableRows, type ConsoleServer, type Person, eventually } from './e2e-harness.js'

/**
 * The issue's six steps, in two browser contexts (a member at a desk, a reviewer on a phone):
 * request → approve from the inbox without reloading → read c_42's rows and only those → revoke →
 * read nothing → the audit page shows all five with the right actors. Each screen also passes axe.
 */
describe.skipIf(!E2E_ENABLED)('the six-step walk in Chromium', () => {
  let server: ConsoleServer
  let member: Person
  let reviewer: Person
  const timings: Record<string, number> = {}
  let started = 0
  const lap = (step: string) => {
    timings[step] = Date.now() - started
    started = Date.now()
  }

  beforeAll(async () => {
    server = await startConsoleServer()
    await setUpConsoleVault(server.h)
    member = await personSignedIn(server, 'member')
    reviewer = await personSignedIn(server, 'reviewer', { viewport: { width: 390, height: 844 } })
  })
  afterAll(async () => {
    if (Object.keys(timings).length) console.log('six-step walk timings (ms):', JSON.stringify(timings))
    await server?.close()
  })

  it('request, approve, read, revoke, read nothing, audit', async () => {
    started = Date.now()
    // The reviewer's inbox is open before the request exists: it must appear without a reload.
    await go(reviewer.page, 'Inbox')
    await reviewer.page.getByText('Nothing to decide').waitFor()
    await expectAccessible(reviewer.page, 'inbox (empty)')
    const inboxNavigations: string[] = []
    reviewer.page.on('framenavigated', (frame) => frame === reviewer.page.mainFrame() && inboxNavigations.push(frame.url()))

    // (1) The member asks for customer:c_42.
    const m = member.page
    await go(m, 'Request access')
    await m.getByLabel('Kind').fill('customer')
    await m.getByLabel('Name or id').fill('c_42')
    await eventually(() => tableRows(m)).toHaveLength(1)
    await m.getByRole('checkbox', { name: 'Ask for customer:c_42' }).check()
    await m.getByLabel('Reason').fill('Ticket 4711: invoices do not export')
    await m.getByLabel('Duration').fill('2h')
    await expectAccessible(m, 'request access')
    await screenshot(m, 'request-access')
    await m.getByRole('button', { name: 'Request access' }).click()
    await m.getByRole('status').filter({ hasText: 'Request sent (open)' }).waitFor()
    await m.getByRole('heading', { name: /customer:c_42/ }).first().waitFor()
    lap('1 request')

    // (2) The reviewer sees it arrive (polling, no reload) and approves it for 1 h.
    const r = reviewer.page
    const card = r.locator('li.petition', { hasText: member.email })
    await card.waitFor()
    expect(inboxNavigations).toEqual([])
    await eventually(() => card.textContent()).toContain('Umbrella Corp')
    await eventually(() => card.textContent()).toContain('Ticket 4711')
    await expectAccessible(r, 'inbox')
    await screenshot(r, 'inbox')
    await card.getByLabel('Approve for').fill('1h')
    await card.getByLabel('Comment').fill('ok for the ticket')
    await card.getByRole('button', { name: 'Approve' }).click()
    await r.getByText('Nothing to decide').waitFor()
    lap('2 approve')

    // (3) The member's explorer shows c_42's tickets and only those, each with its grant.
    await go(m, 'Vault explorer')
    await m.getByLabel('Model').selectOption('tickets')
    await m.getByRole('button', { name: 'Find' }).click()
    await eventually(() => tableRows(m)).toHaveLength(2)
    const rows = await tableRows(m)
    expect(rows.map((row) => row.split(' | ')[0])).toEqual(['t1', 't2'])
    for (const row of rows) {
      expect(row).toContain('c_42')
      expect(row).toMatch(/grt_/)
      expect(row).not.toContain('c_7')
    }
    // internal_note is not readable under the console's policy: it is not even a column.
    expect(await m.locator('table th').allTextContents()).not.toContain('internal_note')
    await expectAccessible(m, 'vault explorer')
    await screenshot(m, 'vault-explorer')
    lap('3 read')

    // (4) The reviewer revokes the grant, with a reason.
    await go(r, 'Grants')
    await eventually(() => tableRows(r)).toHaveLength(1)
    await expectAccessible(r, 'grants')
    await r.getByRole('button', { name: `Revoke customer:c_42 for ${member.email}` }).click()
    await r.getByLabel('Reason').fill('ticket closed')
    await expectAccessible(r, 'grants (revoke dialog)')
    await screenshot(r, 'grants-revoke')
    await r.getByRole('button', { name: 'Revoke now' }).click()
    await r.getByText('No active grants match').waitFor()
    lap('4 revoke')

    // (5) The member's explorer shows nothing now.
    await m.getByRole('button', { name: 'Find' }).click()
    await m.getByText('No records you can read').waitFor()
    expect(await tableRows(m)).toEqual([])
    lap('5 read nothing')

    // (6) The audit page shows the five steps, with the right actors.
    await go(r, 'Audit')
    await eventually(async () => (await tableRows(r)).some((row) => row.includes('access/revoke'))).toBe(true)
    const audit = (await tableRows(r)).map((row) => row.split(' | ')).map(([, , event, actor, resources]) => ({ event, actor, resources }))
    const steps = audit.filter((row) => ['access/request', 'access/approve', 'vault/read', 'access/revoke'].includes(row.event!)).reverse()
    expect(steps.map((step) => `${step.event} by ${step.actor}`)).toEqual([
      `access/request by ${member.email}`,
      `access/approve by ${reviewer.email}`,
      `vault/read by ${member.email} (via vault client frontend)`,
      `access/revoke by ${reviewer.email}`,
      `vault/read by ${member.email} (via vault client frontend)`,
    ])
    expect(steps[2]!.resources).toContain('customer:c_42')
    await r.getByRole('button', { name: /Open event/ }).first().click()
    await r.getByRole('heading', { name: /Event #/ }).waitFor()
    await r.getByRole('button', { name: 'Verify the chain' }).click()
    await eventually(() => r.getByRole('status').filter({ hasText: 'Chain' }).textContent()).toMatch(/Chain intact: \d+ events checked/)
    await expectAccessible(r, 'audit')
    await screenshot(r, 'audit')
    lap('6 audit')

    expect(member.problems).toEqual([])
    expect(reviewer.problems).toEqual([])
  })
})
