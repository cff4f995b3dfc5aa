import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { startReceiver, testWorker, runUntil, enqueue, type Receiver } from '../../server/test/webhooks-helpers.js'
import { E2E_ENABLED, expectAccessible, personSignedIn, screenshot, startConsoleServer, PASSWORD, type ConsoleServer, type Person } from './e2e-harness.js'

/** The admin screens in Chromium: each screen's main action and main error, a member refused, axe on each. */
describe.skipIf(!E2E_ENABLED)('console admin screens in Chromium', () => {
  let server: ConsoleServer
  let receiver: Receiver
  beforeAll(async () => {
    server = await startConsoleServer()
    receiver = await startReceiver(() => ({ status: 204 }))
  })
  afterAll(async () => {
    await receiver?.close()
    await server?.close()
  })

  const api = (method: string, path: string, body?: unknown) => server.h.request(method, `/v1/spaces/default${path}`, { token: server.h.adminToken, body })
  /** A person of this role signed in through the sign-in screen, then at `path` (by address, as a bookmark would). */
  async function signedInAt(role: 'admin' | 'member', path: string, viewport = { width: 1280, height: 800 }): Promise<Person> {
    const person = await personSignedIn(server, role, { viewport })
    await person.page.goto(`${server.url}/console${path}`)
    await person.page.getByRole('button', { name: 'Sign out' }).waitFor()
    return person
  }
  /** An admin who reaches the screen through the navigation, as a person would. */
  async function adminAt(label: string): Promise<Person> {
    const admin = await signedInAt('admin', '/inbox')
    await admin.page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: label, exact: true }).click()
    await admin.page.getByRole('heading', { name: label, level: 1 }).waitFor()
    return admin
  }
  const alertText = (page: Page) => page.getByRole('alert').allTextContents().then((texts) => texts.join(' | '))
  /** The message tied to an input by aria-describedby: what a screen reader reads with it. */
  const describedBy = (page: Page, label: string) =>
    page.getByLabel(label, { exact: true }).evaluate((input) =>
      (input.getAttribute('aria-describedby') ?? '')
        .split(' ')
        .map((id) => document.getElementById(id)?.textContent ?? '')
        .join(' '),
    )

  it('Users: invites a user who can sign in, shows the server message for an email that exists, changes a role, deactivates, deletes', async () => {
    const admin = await adminAt('Users')
    const { page } = admin
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor()
    const invite = async (email: string) => {
      await page.getByRole('button', { name: 'Invite user' }).click()
      await page.getByLabel('Email', { exact: true }).fill(email)
      await page.getByLabel('Name', { exact: true }).fill('Ada Invited')
      await page.getByLabel('Role', { exact: true }).selectOption('reviewer')
      await page.getByLabel('Initial password (at least 12 characters)').fill(PASSWORD)
      await page.getByRole('button', { name: 'Invite', exact: true }).click()
    }
    await invite('ada@example.com')
    await page.getByRole('cell', { name: 'ada@example.com', exact: true }).waitFor()
    // The invited user exists with the chosen role and can sign in with the password set here.
    const signIn = await server.h.request('POST', '/v1/spaces/default/auth:signIn', { body: { email: 'ada@example.com', password: PASSWORD } })
    expect(signIn.status, signIn.text).toBe(200)
    const users = (await api('GET', '/users?limit=200')).body.users as Array<{ id: string; email: string; role: string; disabledAt: string | null }>
    const ada = users.find((user) => user.email === 'ada@example.com')!
    expect(ada.role).toBe('reviewer')

    await invite('ada@example.com')
    await expect.poll(() => alertText(page)).toMatch(/Could not invite: .*ada@example\.com.*\(conflict\)|Could not invite: .*already exists.*\(conflict\)/)

    await page.getByRole('button', { name: 'Cancel' }).click()
    await page.getByLabel('Role of ada@example.com').selectOption('admin')
    // Choosing is not changing: only the button sends it.
    expect((await api('GET', `/users/${ada.id}`)).body.role).toBe('reviewer')
    await page.getByRole('button', { name: 'Change role of ada@example.com' }).click()
    await expect.poll(async () => (await api('GET', `/users/${ada.id}`)).body.role).toBe('admin')

    const row = page.getByRole('row', { name: /ada@example\.com/ })
    await row.getByRole('button', { name: 'Deactivate' }).click()
    await row.getByRole('button', { name: 'Deactivate ada@example.com' }).click()
    await row.getByText(/deactivated/).waitFor()
    expect((await api('GET', `/users/${ada.id}`)).body.disabledAt).not.toBeNull()
    await screenshot(page, 'admin-users')
    await expectAccessible(page, 'users')

    await row.getByRole('button', { name: 'Delete' }).click()
    await row.getByRole('button', { name: 'Delete ada@example.com' }).click()
    await expect.poll(() => page.getByRole('cell', { name: 'ada@example.com', exact: true }).count()).toBe(0)
    expect((await api('GET', `/users/${ada.id}`)).status).toBe(404)
    expect(admin.problems).toEqual([])
    await admin.context.close()
  })

  it('Groups: creates a group, adds and removes a member, shows the server message for a name that exists', async () => {
    const member = await server.h.createUser('member', { email: 'grace@example.com' })
    const admin = await adminAt('Groups')
    const { page } = admin
    await page.getByText('No groups yet').waitFor()
    const create = async (name: string) => {
      await page.getByLabel('Group name').fill(name)
      await page.getByLabel('Description').fill('Reviews customer data')
      await page.getByRole('button', { name: 'Create group' }).click()
    }
    await create('support-leads')
    await page.getByRole('cell', { name: 'support-leads', exact: true }).waitFor()
    await page.getByRole('button', { name: 'Members of support-leads' }).click()
    await page.getByLabel('User to add').selectOption({ label: 'grace@example.com' })
    await page.getByRole('button', { name: 'Add member' }).click()
    await page.getByRole('button', { name: 'Remove grace@example.com' }).waitFor()
    const groups = (await api('GET', '/groups?limit=200')).body.groups as Array<{ id: string; name: string; members: string[] }>
    expect(groups.find((g) => g.name === 'support-leads')!.members).toEqual([member.id])
    await screenshot(page, 'admin-groups')
    await expectAccessible(page, 'groups')

    await page.getByRole('button', { name: 'Remove grace@example.com' }).click()
    await page.getByText('No members yet').waitFor()
    const after = (await api('GET', '/groups?limit=200')).body.groups as Array<{ name: string; members: string[] }>
    expect(after.find((g) => g.name === 'support-leads')!.members).toEqual([])

    await create('support-leads')
    await expect.poll(() => alertText(page)).toContain('Could not create the group:')
    await expect.poll(() => alertText(page)).toContain('(conflict)')
    expect(admin.problems).toEqual([])
    await admin.context.close()
  })

  it('Service accounts: issues a token shown once that works until revoked; the server refuses a bad lifetime at its field', async () => {
    const admin = await adminAt('Service accounts')
    const { page } = admin
    await page.getByLabel('Account name').fill('billing-sync')
    await page.getByLabel('Account role').selectOption('member')
    await page.getByRole('button', { name: 'Create service account' }).click()
    await page.getByRole('heading', { name: 'Tokens of billing-sync' }).waitFor()

    await page.getByLabel('Token name').fill('prod')
    await page.getByLabel('Expires after (days, empty for never)').fill('-1')
    await page.getByRole('button', { name: 'Issue token' }).click()
    await expect.poll(() => describedBy(page, 'Expires after (days, empty for never)')).toMatch(/must be >= \d+/)
    await expect.poll(() => alertText(page)).toContain('Could not issue the token')

    await page.getByLabel('Expires after (days, empty for never)').fill('')
    await page.getByRole('button', { name: 'Issue token' }).click()
    const secretBox = page.getByRole('textbox', { name: 'New token prod' })
    await secretBox.waitFor()
    const secret = await secretBox.inputValue()
    await page.getByText('it is shown only this once').waitFor()
    await page.getByRole('button', { name: 'Copy', exact: true }).waitFor()
    // The secret is real: it signs calls as the service account.
    const me = await server.h.request('GET', '/v1/spaces/default/auth/me', { token: secret })
    expect(me.status, me.text).toBe(200)
    expect(me.body.kind).toBe('service_account')
    await screenshot(page, 'admin-service-accounts')
    await expectAccessible(page, 'service accounts')
    await page.getByRole('button', { name: 'I have stored it' }).click()
    expect(await page.getByRole('textbox', { name: 'New token prod' }).count()).toBe(0)
    expect(await page.content()).not.toContain(secret)

    await page.getByRole('row', { name: /prod/ }).getByRole('button', { name: 'Revoke' }).click()
    await page.getByRole('button', { name: 'Revoke prod' }).click()
    await page.getByText(/revoked/).waitFor()
    expect((await server.h.request('GET', '/v1/spaces/default/auth/me', { token: secret })).status).toBe(401)
    expect(admin.problems).toEqual([])
    await admin.context.close()
  })

  it('Access policies: an unknown property is shown at its field; the fixed policy is created, then edited as JSON', async () => {
    const admin = await adminAt('Access policies')
    const { page } = admin
    await page.getByText('No access policies yet').waitFor()
    await page.getByRole('button', { name: 'New policy' }).click()
    await page.getByLabel('Name', { exact: true }).fill('customer-review')
    await page.getByLabel('Match', { exact: true }).fill('{"resourceKnds": ["customer"]}')
    await page.getByRole('button', { name: 'Create policy' }).click()
    await expect.poll(() => describedBy(page, 'Match')).toContain('resourceKnds: is not a known property; did you mean resourceKinds?')
    expect(await page.getByLabel('Match', { exact: true }).getAttribute('aria-invalid')).toBe('true')
    // The keyboard is taken to the input the server named.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('match')
    await screenshot(page, 'admin-policy-error')
    await expectAccessible(page, 'access policies (error)')

    await page.getByLabel('Match', { exact: true }).fill('{"resourceKinds": ["customer"]}')
    await page.getByRole('button', { name: 'Create policy' }).click()
    await page.getByRole('cell', { name: 'customer-review', exact: true }).waitFor()
    const [created] = (await api('GET', '/policies')).body.policies as Array<{ id: string; match: unknown; priority: number }>
    expect(created!.match).toEqual({ resourceKinds: ['customer'] })

    await page.getByRole('button', { name: 'Edit customer-review' }).click()
    await page.getByLabel('JSON').check()
    const json = page.getByLabel('Policy as JSON')
    const doc = JSON.parse(await json.inputValue())
    expect(doc).toMatchObject({ name: 'customer-review', priority: 100 })
    await json.fill(JSON.stringify({ ...doc, priority: 5, decision: { type: 'auto_aprove', durationSeconds: 60 } }))
    await page.getByRole('button', { name: 'Save policy' }).click()
    await expect.poll(() => describedBy(page, 'Policy as JSON')).toContain('body.decision')
    await json.fill(JSON.stringify({ ...doc, priority: 5 }))
    await page.getByRole('button', { name: 'Save policy' }).click()
    await page.getByText('Policy customer-review is saved.').waitFor()
    expect((await api('GET', `/policies/${created!.id}`)).body.priority).toBe(5)
    expect(admin.problems).toEqual([])
    await admin.context.close()
  })

  it('Vault policies: a misspelt field is shown at the rules with the suggestion; the fixed policy is created', async () => {
    const model = await api('POST', '/vault/models', { name: 'patients', primaryKey: 'patient_id', fields: { patient_id: { type: 'string' }, email: { type: 'string' } } })
    expect(model.status, model.text).toBe(201)
    const admin = await adminAt('Vault policies')
    const { page } = admin
    await page.getByText('No vault policies yet').waitFor()
    await page.getByRole('button', { name: 'New vault policy' }).click()
    await page.getByLabel('Name', { exact: true }).fill('support-read')
    const rules = { patients: { actions: ['read'], readable: ['patient_id', 'emial'], acl: { source: 'grants', resourceKind: 'customer', field: 'patient_id' } } }
    await page.getByLabel('Rules', { exact: true }).fill(JSON.stringify(rules))
    await page.getByRole('button', { name: 'Create vault policy' }).click()
    await expect.poll(() => describedBy(page, 'Rules')).toContain("patients.readable.1: model 'patients' has no field 'emial'; did you mean 'email'?")
    await screenshot(page, 'admin-vault-policy-error')
    await expectAccessible(page, 'vault policies (error)')

    rules.patients.readable = ['patient_id', 'email']
    await page.getByLabel('Rules', { exact: true }).fill(JSON.stringify(rules))
    await page.getByRole('button', { name: 'Create vault policy' }).click()
    await page.getByRole('cell', { name: 'support-read', exact: true }).waitFor()
    const [saved] = (await api('GET', '/vault/policies')).body.policies as Array<{ name: string; rules: Record<string, { readable: string[] }> }>
    expect(saved!.rules.patients!.readable).toEqual(['patient_id', 'email'])
    expect(admin.problems).toEqual([])
    await admin.context.close()
  })

  it('Webhooks: a refused address shows the server message; the secret is shown once; deliveries show their attempts and redeliver', async () => {
    const admin = await adminAt('Webhooks')
    const { page } = admin
    await page.getByText('No webhook endpoints yet').waitFor()
    await page.getByRole('button', { name: 'New endpoint' }).click()
    await page.getByLabel('Endpoint URL').fill('http://169.254.169.254/latest')
    await page.getByRole('button', { name: 'Create endpoint' }).click()
    await expect.poll(() => alertText(page)).toContain('Could not create the endpoint: url points at a refused address')

    await page.getByLabel('Endpoint URL').fill(receiver.url('/gatehouse'))
    await page.getByRole('button', { name: 'Create endpoint' }).click()
    const secret = await page.getByRole('textbox', { name: /^Signing secret for/ }).inputValue()
    expect(secret).toMatch(/^whsec_/)
    await page.getByRole('button', { name: 'I have stored it' }).click()

    // An event, delivered by a worker: the receiver answers 204.
    const worker = testWorker(server.h)
    await enqueue(server.h, 'default', 'access/request', { petition: { id: 'pet_e2e' } })
    await runUntil(worker, () => receiver.received.length >= 1)
    await page.getByRole('button', { name: 'Deliveries' }).click()
    const row = page.getByRole('row', { name: /access\/request/ })
    await row.getByText('delivered').waitFor()
    await row.getByRole('button', { name: 'Attempts' }).click()
    await row.getByText(/HTTP 204/).waitFor()
    await screenshot(page, 'admin-webhooks')
    await expectAccessible(page, 'webhooks')

    await row.getByRole('button', { name: 'Redeliver' }).click()
    await page.getByText('Delivery of access/request is queued again.').waitFor()
    await runUntil(worker, () => receiver.received.length >= 2)
    // The same message: a receiver drops the duplicate by its webhook-id.
    expect(receiver.received[1]!.headers['webhook-id']).toBe(receiver.received[0]!.headers['webhook-id'])

    await page.getByRole('button', { name: 'Rotate secret' }).click()
    await page.getByRole('button', { name: 'Rotate now' }).click()
    const rotated = await page.getByRole('textbox', { name: /^New signing secret for/ }).inputValue()
    expect(rotated).toMatch(/^whsec_/)
    expect(rotated).not.toBe(secret)
    expect(admin.problems).toEqual([])
    await admin.context.close()
  })

  it('a member sees no admin navigation and is refused each admin screen; the screens fit a phone', async () => {
    const member = await signedInAt('member', '/request')
    const { page } = member
    const nav = page.getByRole('navigation', { name: 'Console' })
    await nav.getByRole('link', { name: 'Request access' }).waitFor()
    expect(await nav.getByRole('link', { name: 'Users' }).count()).toBe(0)
    await page.goto(`${server.url}/console/admin/users`)
    await expect.poll(() => alertText(page)).toContain('Admins only')
    expect(await page.getByRole('button', { name: 'Invite user' }).count()).toBe(0)
    await screenshot(page, 'admin-member-refused')
    await expectAccessible(page, 'admin screen, member')
    await member.context.close()

    const admin = await signedInAt('admin', '/inbox', { width: 390, height: 844 })
    for (const path of ['users', 'groups', 'service-accounts', 'policies', 'vault-policies', 'webhooks']) {
      await admin.page.goto(`${server.url}/console/admin/${path}`)
      await admin.page.getByRole('heading', { level: 1 }).waitFor()
      await admin.page.getByRole('status').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' })
      // Nothing wider than the phone: wide tables scroll inside their own box.
      const overflow = await admin.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      expect(overflow, path).toBeLessThanOrEqual(0)
      await expectAccessible(admin.page, `${path} at 390 px`)
    }
    await screenshot(admin.page, 'admin-webhooks-phone')
    await admin.context.close()
  })
})
