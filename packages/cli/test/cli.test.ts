/**
 * Issue 16: the `gatehouse` CLI as a child process against a live server (PGlite, or PostgreSQL with
 * DATABASE_URL): every verb's main path and its errors (bad token, wrong space, bad file row with its
 * line number, network down, usage), with exit codes 0/1/2/3/4.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STORE } from '../../server/test/harness.js'
import { gatehouse, liveServer, STACK_FRAME, tempDir } from './helpers.js'

let h: Awaited<ReturnType<typeof liveServer>>
let home: ReturnType<typeof tempDir>
let env: Record<string, string>
/** A command line against the live server as its admin (the bootstrap service-account token). */
const admin = (...args: string[]) => gatehouse(['--url', h.url, '--token', h.adminToken, ...args], { env })
/** The JSON a command printed; a failed command fails the test with its stderr. */
const json = (result: { code: number | null; stdout: string; stderr: string }) => {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout) as any
}

beforeAll(async () => {
  h = await liveServer()
  home = tempDir()
  env = { HOME: home.dir, XDG_CONFIG_HOME: join(home.dir, 'config') }
})
afterAll(async () => {
  await h?.close()
  home?.remove()
})

describe(`gatehouse against a live server on ${STORE}`, () => {
  it('login saves a private profile, whoami reads it; env variables and flags override it in that order', async () => {
    const login = await gatehouse(['login', '--url', h.url, '--token', h.adminToken], { env })
    expect(login.stderr).toBe('')
    expect(login.code).toBe(0)
    expect(login.stdout).toContain("space 'default' as admin (service_account, role admin)")
    const file = join(home.dir, 'config/gatehouse/config.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(join(home.dir, 'config/gatehouse')).mode & 0o777).toBe(0o700)

    const me = await gatehouse(['whoami', '--json'], { env })
    expect(me.code).toBe(0)
    expect(json(me)).toMatchObject({ space: 'default', kind: 'service_account', role: 'admin' })

    // GATEHOUSE_SPACE beats the profile: another space is a 404 for this token, printed with its code and request id.
    const wrongSpace = await gatehouse(['whoami'], { env: { ...env, GATEHOUSE_SPACE: 'elsewhere' } })
    expect(wrongSpace.code).toBe(1)
    expect(wrongSpace.stderr).toMatch(/^gatehouse: error not_found \(HTTP 404\): .*elsewhere.* \[request req_[a-z0-9]+\]/)
    expect(wrongSpace.stderr).toContain('hint: check --space')
    expect(wrongSpace.stderr).not.toMatch(STACK_FRAME)
    // …and --space beats the variable.
    expect((await gatehouse(['whoami', '--space', 'default'], { env: { ...env, GATEHOUSE_SPACE: 'elsewhere' } })).code).toBe(0)

    // A bad token: 401 with the server's code, a hint, no stack.
    const badToken = await gatehouse(['whoami'], { env: { ...env, GATEHOUSE_API_TOKEN: 'ghs_notarealtoken' } })
    expect(badToken.code).toBe(1)
    expect(badToken.stderr).toMatch(/error (unauthenticated|invalid_credentials|token_\w+) \(HTTP 401\)/)
    expect(badToken.stderr).toContain('gatehouse login')
    expect(badToken.stderr).not.toMatch(STACK_FRAME)

    // The network is down: a clear message naming the URL, exit 1.
    const down = await gatehouse(['whoami', '--url', 'http://127.0.0.1:9'], { env })
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('cannot reach the server at http://127.0.0.1:9')
    expect(down.stderr).not.toMatch(STACK_FRAME)

    // Usage errors are exit 2: a misspelt profile, a bad argument, an unknown command.
    const noProfile = await gatehouse(['whoami', '--profile', 'prod'], { env })
    expect(noProfile.code).toBe(2)
    expect(noProfile.stderr).toContain("no profile 'prod'")
    expect((await gatehouse(['resources', 'get', 'no-colon'], { env })).code).toBe(2)
    expect((await gatehouse(['frobnicate'], { env })).code).toBe(2)
    const help = await gatehouse(['request', '--help'], { env })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('npx gatehouse request customer:c_42')
  })

  it('signs in with a password into a second profile, and logout revokes that token on the server', async () => {
    const user = await h.createUser('reviewer', { password: 'a long enough password 1' })
    const login = await gatehouse(['login', '--profile', 'me', '--email', user.email, '--password-stdin'], { env, input: 'a long enough password 1\n' })
    expect(login.code).toBe(0)
    const profiles = json(await gatehouse(['config', 'list', '--json'], { env }))
    expect(profiles.current).toBe('me')
    expect(profiles.profiles.map((p: { name: string; url: string }) => [p.name, p.url])).toEqual([
      ['default', h.url],
      ['me', h.url],
    ])
    const me = json(await gatehouse(['whoami', '--json'], { env }))
    expect(me).toMatchObject({ kind: 'user', display: user.email, role: 'reviewer' })

    const wrong = await gatehouse(['login', '--profile', 'me2', '--email', user.email, '--password-stdin'], { env, input: 'not it' })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/invalid_credentials \(HTTP 401\)/)

    const file = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(home.dir, 'config/gatehouse/config.json'), 'utf8')))
    const token = file.profiles.me.token as string
    expect((await gatehouse(['logout'], { env })).code).toBe(0)
    expect((await h.request('GET', '/v1/spaces/default/auth/me', { token })).status).toBe(401)
    const after = await gatehouse(['whoami'], { env })
    expect(after.code).toBe(1)
    expect(after.stderr).toContain('not signed in')
    expect((await gatehouse(['config', 'use', 'default'], { env })).code).toBe(0)
  })

  it('resources upload (CSV, JSON, NDJSON with a mapping), list, get, delete', async () => {
    const dir = tempDir()
    try {
      writeFileSync(join(dir.dir, 'c.csv'), 'kind,id,displayName,label.plan\ncustomer,c_1,"Acme, Inc.",pro\ncustomer,c_2,"Globex\nEurope",free\ncustomer,c_42,Umbrella,\n')
      const csv = await admin('resources', 'upload', join(dir.dir, 'c.csv'), '--json')
      expect(csv.code).toBe(0)
      expect(json(csv)).toMatchObject({ records: 3, uploaded: 3, changed: 3, skipped: 0 })
      writeFileSync(join(dir.dir, 'a.json'), JSON.stringify([{ kind: 'account', id: 'a_1', displayName: 'A [1]', labels: { region: 'eu' } }, { kind: 'account', id: 'a_2' }], null, 2))
      expect((await admin('resources', 'upload', join(dir.dir, 'a.json'))).stdout).toContain('Uploaded 2 resources')
      writeFileSync(join(dir.dir, 'm.ndjson'), '{"customer_id":"c_7","name":"Initech","tier":"pro"}\n\n{"customer_id":"c_8","name":"Hooli","tier":3}\n')
      const mapped = await admin('resources', 'upload', join(dir.dir, 'm.ndjson'), '--kind', 'customer', '--map', 'id=customer_id', '--map', 'displayName=name', '--map', 'label.tier=tier')
      expect(mapped.code).toBe(0)

      const listed = json(await admin('resources', 'list', '--kind', 'customer', '--json'))
      const byId = Object.fromEntries(listed.resources.map((r: { id: string }) => [r.id, r]))
      expect(Object.keys(byId).sort()).toEqual(['c_1', 'c_2', 'c_42', 'c_7', 'c_8'])
      expect(byId.c_1).toMatchObject({ displayName: 'Acme, Inc.', labels: { plan: 'pro' } })
      expect(byId.c_2.displayName).toBe('Globex\nEurope')
      expect(byId.c_8.labels).toEqual({ tier: '3' })
      expect(json(await admin('resources', 'list', '--kind', 'customer', '--label', 'plan=pro', '--json')).resources.map((r: { id: string }) => r.id)).toEqual(['c_1'])
      expect(json(await admin('resources', 'get', 'account:a_1', '--json'))).toMatchObject({ displayName: 'A [1]', labels: { region: 'eu' } })
      const table = await admin('resources', 'list', '--kind', 'account')
      expect(table.stdout).toMatch(/^KIND +ID +DISPLAYNAME +LABELS\n/)

      expect((await admin('resources', 'delete', 'account:a_2')).code).toBe(0)
      const gone = await admin('resources', 'get', 'account:a_2')
      expect(gone.code).toBe(1)
      expect(gone.stderr).toContain('(HTTP 404)')
    } finally {
      dir.remove()
    }
  })

  it('a bad row stops the upload naming its file line; the good rows before it are stored', async () => {
    const dir = tempDir()
    try {
      const missing = join(dir.dir, 'missing.csv')
      writeFileSync(missing, 'kind,id,displayName\ncustomer,m_1,One\ncustomer,m_2,Two\ncustomer,,Three\ncustomer,m_4,Four\n')
      const noId = await admin('resources', 'upload', missing)
      expect(noId.code).toBe(1)
      expect(noId.stderr).toContain(`${missing}:4: no id (column 'id')`)
      expect(noId.stderr).not.toMatch(STACK_FRAME)
      const stored = json(await admin('resources', 'list', '--kind', 'customer', '--json')).resources.map((r: { id: string }) => r.id)
      expect(stored).toEqual(expect.arrayContaining(['m_1', 'm_2']))
      expect(stored).not.toContain('m_4')

      const ragged = join(dir.dir, 'ragged.csv')
      writeFileSync(ragged, 'kind,id\ncustomer,r_1\ncustomer,r_2,extra\n')
      const badCsv = await admin('resources', 'upload', ragged)
      expect(badCsv.code).toBe(1)
      expect(badCsv.stderr).toContain(`${ragged}:3: not valid CSV`)

      // Refused by the server (a kind it does not accept): the line is found from the batch index.
      const refused = join(dir.dir, 'refused.ndjson')
      writeFileSync(refused, '{"kind":"customer","id":"s_1"}\n{"kind":"bad kind!","id":"s_2"}\n')
      const server = await admin('resources', 'upload', refused)
      expect(server.code).toBe(1)
      expect(server.stderr).toMatch(new RegExp(`${refused.replace(/[.]/g, '\\.')}:2: refused by the server \\(validation_failed\\)`))

      const notJson = join(dir.dir, 'x.json')
      writeFileSync(notJson, '[{"kind":"customer","id":"j_1"},\n 42]')
      const scalar = await admin('resources', 'upload', notJson)
      expect(scalar.code).toBe(1)
      expect(scalar.stderr).toContain(`${notJson}:2: expected an object in the array`)
    } finally {
      dir.remove()
    }
  })

  it('request waits (3), a reviewer approves, the same request is granted (0); a denied one exits 4; grants, extend, petitions', async () => {
    await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources: [{ kind: 'customer', id: 'c_100' }, { kind: 'customer', id: 'c_101' }] } })
    const member = await h.createUser('member')
    const reviewer = await h.createUser('reviewer')
    const as = (token: string, ...args: string[]) => gatehouse(['--url', h.url, '--token', token, ...args], { env })

    const waiting = await as(member.token, 'request', 'customer:c_100', '--reason', 'ticket 1', '--duration', '1h')
    expect(waiting.code).toBe(3)
    const petitionId = /petition (pet_[A-Za-z0-9_-]+)/.exec(waiting.stdout)?.[1]
    expect(petitionId).toBeDefined()
    const open = json(await as(reviewer.token, 'petitions', 'list', '--state', 'open', '--json'))
    expect(open.petitions.map((p: { id: string }) => p.id)).toContain(petitionId)
    expect((await as(reviewer.token, 'petitions', 'show', petitionId!)).stdout).toMatch(/state: +open/)

    const approved = await as(reviewer.token, 'approve', petitionId!, '--duration', '30m', '--comment', 'ok')
    expect(approved.code).toBe(0)
    expect(approved.stdout).toContain('now granted')
    const granted = await as(member.token, 'request', 'customer:c_100', '--reason', 'ticket 1', '--duration', '1h', '--json')
    expect(granted.code).toBe(0)
    expect(json(granted).status).toBe('granted')

    const grants = json(await as(reviewer.token, 'grants', 'list', '--active', '--resource', 'customer:c_100', '--json')).grants
    expect(grants).toHaveLength(1)
    expect(grants[0].petitioner.email).toBe(member.email)
    const extension = await as(member.token, 'extend', grants[0].id, '--duration', '1h', '--reason', 'more')
    expect([0, 3]).toContain(extension.code)
    expect(extension.stdout).toMatch(/Extension asked: petition pet_/)
    expect((await as(reviewer.token, 'grants', 'revoke', grants[0].id)).code).toBe(0)
    expect(json(await as(reviewer.token, 'grants', 'list', '--active', '--resource', 'customer:c_100', '--json')).grants).toHaveLength(0)

    const second = await as(member.token, 'request', 'customer:c_101', '--reason', 'ticket 2')
    expect(second.code).toBe(3)
    const secondId = /petition (pet_[A-Za-z0-9_-]+)/.exec(second.stdout)![1]!
    expect((await as(reviewer.token, 'deny', secondId, '--comment', 'use the sandbox')).code).toBe(0)
    const denied = await as(member.token, 'request', 'customer:c_101', '--reason', 'ticket 2')
    expect(denied.code).toBe(4)
    expect(denied.stdout).toContain('Denied')

    // A reviewer cannot approve with a service-account token: the server's reason is shown.
    const third = await as(member.token, 'request', 'customer:c_100', '--reason', 'ticket 3')
    const thirdId = /petition (pet_[A-Za-z0-9_-]+)/.exec(third.stdout)![1]!
    const bySa = await admin('approve', thirdId)
    expect(bySa.code).toBe(1)
    expect(bySa.stderr).toMatch(/error forbidden \(HTTP 403\)/)
    expect((await as(member.token, 'request', 'customer:c_100', '--duration', 'soon')).code).toBe(2)
  })

  it('policies apply prints a plan, applies with --yes, and a second apply has nothing to do', async () => {
    const dir = tempDir()
    try {
      const file = join(dir.dir, 'policies.yaml')
      writeFileSync(file, 'policies:\n  - name: accounts auto\n    priority: 5\n    match: { resourceKinds: [account] }\n    decision: { type: auto_approve, durationSeconds: 3600 }\n')
      const plan = await admin('policies', 'apply', file)
      expect(plan.code).toBe(0)
      expect(plan.stdout).toContain('+ create policy accounts auto')
      expect(plan.stdout).toContain('run again with --yes')
      expect(json(await admin('policies', 'list', '--json')).policies).toHaveLength(0)
      expect((await admin('policies', 'apply', file, '--yes')).code).toBe(0)
      expect((await admin('policies', 'apply', file)).stdout).toContain('Nothing to do')
      writeFileSync(file, 'policies:\n  - name: accounts auto\n    priority: 7\n    match: { resourceKinds: [account] }\n    decision: { type: auto_approve, durationSeconds: 3600 }\n')
      const change = await admin('policies', 'apply', file, '--yes')
      expect(change.stderr).toContain('~ update policy accounts auto')
      expect(change.stderr).toContain('priority: 5 → 7')
      expect(json(await admin('policies', 'list', '--json')).policies.map((p: { priority: number }) => p.priority)).toEqual([7])
      writeFileSync(file, 'policies: [oops')
      expect((await admin('policies', 'apply', file)).code).toBe(2)
    } finally {
      dir.remove()
    }
  })

  it('vault apply twice is a no-op the second time; a dropped field is refused without --yes; find/import/export', async () => {
    const dir = tempDir()
    try {
      const file = join(dir.dir, 'vault.yaml')
      const model = (extra: string, writable: string) => `models:
  - name: patients
    primaryKey: id
    fields:
      id: { type: string }
      email: { type: string, searchable: true }
${extra}policies:
  - name: app
    rules:
      patients: { actions: [read, write], readable: [id, email], writable: [${writable}], acl: { source: none } }
clients:
  - name: backend
    policy: app
`
      writeFileSync(file, model('      ssn: { type: string }\n', 'id, email, ssn'))
      const first = await admin('vault', 'apply', file, '--yes')
      expect(first.code).toBe(0)
      const secret = /clientId (\S+) clientSecret (\S+)/.exec(first.stderr)
      expect(secret).not.toBeNull()
      const again = await admin('vault', 'apply', file)
      expect(again.stdout).toBe('Nothing to do: the server already matches the file.\n')

      const credentials = ['--client-id', secret![1]!, '--client-secret', secret![2]!]
      const records = join(dir.dir, 'patients.ndjson')
      writeFileSync(records, Array.from({ length: 150 }, (_, i) => JSON.stringify({ id: `p${i}`, email: `p${i}@example.com`, ssn: `000-${i}` })).join('\n'))
      const imported = await admin('vault', 'import', 'patients', records, ...credentials)
      expect(imported.code).toBe(0)
      expect(imported.stdout).toContain('Imported 150 records')
      const found = json(await admin('vault', 'find', 'patients', '--filter', '{"email":{"$eq":"p7@example.com"}}', ...credentials, '--json'))
      expect(found.data).toEqual([expect.objectContaining({ id: 'p7', email: 'p7@example.com' })])
      const exported = await admin('vault', 'export', 'patients', ...credentials)
      expect(exported.stdout.trim().split('\n').map((line) => JSON.parse(line).id).sort()).toEqual(Array.from({ length: 150 }, (_, i) => `p${i}`).sort())
      expect((await admin('vault', 'find', 'patients')).code).toBe(2)

      writeFileSync(file, model('', 'id, email'))
      const plan = await admin('vault', 'apply', file)
      expect(plan.code).toBe(0)
      expect(plan.stdout).toContain('DROP field ssn (string)')
      expect(plan.stdout).toContain('Nothing applied')
      expect(json(await admin('vault', 'models', '--json')).models[0].fields).toHaveProperty('ssn')
      const applied = await admin('vault', 'apply', file, '--yes')
      expect(applied.code).toBe(0)
      expect(json(await admin('vault', 'models', '--json')).models[0].fields).not.toHaveProperty('ssn')
      expect((await admin('vault', 'apply', file)).stdout).toContain('Nothing to do')
    } finally {
      dir.remove()
    }
  })

  it('audit tail, export (NDJSON on stdout), checkpoint, verify with and without checkpoints, and offline with the public key alone', async () => {
    const dir = tempDir()
    try {
      const tail = await admin('audit', 'tail', '-n', '3', '--json')
      const events = tail.stdout.trim().split('\n').map((line) => JSON.parse(line))
      expect(events).toHaveLength(3)
      expect(events[0].seq).toBeLessThan(events[2].seq)
      const exported = await admin('audit', 'export')
      expect(exported.code).toBe(0)
      const all = exported.stdout.trim().split('\n').map((line) => JSON.parse(line))
      expect(all[0].seq).toBe(1)
      expect(all.at(-1).seq).toBeGreaterThanOrEqual(events[2].seq)
      expect(exported.stderr).toContain(`exported ${all.length} events`)

      const checkpoint = join(dir.dir, 'cp.note')
      expect((await admin('audit', 'checkpoint', '--out', checkpoint)).code).toBe(0)
      const verified = await admin('audit', 'verify', '--checkpoint', checkpoint)
      expect(verified.code).toBe(0)
      expect(verified.stdout).toMatch(/^OK: space 'default', \d+ events checked/)
      expect(verified.stdout).toMatch(/checkpoint at size \d+: ok/)
      const note = readFileSync(checkpoint, 'utf8')
      const [origin, size, root, ...rest] = note.split('\n')
      const forgedRoot = Buffer.alloc(32, 7).toString('base64')
      writeFileSync(checkpoint, [origin, size, forgedRoot, ...rest].join('\n'))
      expect(root).not.toBe(forgedRoot)
      const bad = await admin('audit', 'verify', '--checkpoint', checkpoint, '--json')
      expect(bad.code).toBe(1)
      expect(JSON.parse(bad.stdout).notes[0]).toMatchObject({ ok: false })

      // Offline: an export, the kept note and the public key; no server.
      writeFileSync(checkpoint, note)
      const vkey = join(dir.dir, 'log.vkey')
      expect((await admin('audit', 'key', '--out', vkey)).code).toBe(0)
      const exportFile = join(dir.dir, 'audit.ndjson')
      writeFileSync(exportFile, (await admin('audit', 'export')).stdout)
      const offline = await admin('audit', 'verify', '--offline', exportFile, '--checkpoint', checkpoint, '--public-key', `@${vkey}`, '--json')
      expect(offline.code).toBe(0)
      expect(JSON.parse(offline.stdout)).toMatchObject({ ok: true, checkpoints: [{ ok: true }] })
      const lines = readFileSync(exportFile, 'utf8').trim().split('\n')
      const second = JSON.parse(lines[1]!)
      lines[1] = JSON.stringify({ ...second, meta: { ...second.meta, forged: true } })
      writeFileSync(exportFile, `${lines.join('\n')}\n`)
      const tampered = await admin('audit', 'verify', '--offline', exportFile, '--checkpoint', checkpoint, '--public-key', `@${vkey}`, '--json')
      expect(tampered.code).toBe(1)
      expect(JSON.parse(tampered.stdout).firstBad).toMatchObject({ seq: 2 })
      expect((await admin('audit', 'verify', '--offline', exportFile)).code).toBe(2)
    } finally {
      dir.remove()
    }
  })

  it('users, groups, service accounts, tokens and webhooks', async () => {
    const user = json(await admin('users', 'create', '--email', 'grace@example.com', '--name', 'Grace', '--role', 'member', '--json'))
    expect(json(await admin('users', 'list', '--json')).users.map((u: { email: string }) => u.email)).toContain('grace@example.com')
    expect((await admin('users', 'create', '--email', 'x@example.com', '--name', 'X', '--role', 'king')).code).toBe(2)
    const group = json(await admin('groups', 'create', 'support', '--json'))
    expect((await admin('groups', 'add-member', group.id, user.id)).code).toBe(0)
    expect(json(await admin('users', 'get', user.id, '--json')).groups).toEqual([group.id])
    const account = json(await admin('service-accounts', 'create', 'uploader', '--role', 'member', '--json'))
    const issued = json(await admin('tokens', 'create', '--service-account', account.id, '--scopes', 'resources:read', '--json'))
    const asAccount = (...args: string[]) => gatehouse(['--url', h.url, '--token', issued.token, ...args], { env })
    expect((await asAccount('resources', 'list')).code).toBe(0)
    const scoped = await asAccount('whoami')
    expect(scoped.code).toBe(1)
    expect(scoped.stderr).toContain("lacks the scope 'space:read'")
    expect((await admin('tokens', 'revoke', issued.id)).code).toBe(0)
    const revoked = await asAccount('resources', 'list')
    expect(revoked.code).toBe(1)
    expect(revoked.stderr).toContain('(HTTP 401)')
    expect((await admin('tokens', 'create')).code).toBe(2)

    const hook = json(await admin('webhooks', 'create', 'http://127.0.0.1:9/hook', '--events', 'access/grant', '--json'))
    expect(json(await admin('webhooks', 'list', '--json')).webhooks.map((w: { id: string }) => w.id)).toContain(hook.id)
    expect(json(await admin('webhooks', 'attempts', hook.id, '--json')).deliveries).toEqual([])
    expect((await admin('webhooks', 'delete', hook.id)).code).toBe(0)
  })
})
