import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listeningHarness, serviceAccountToken } from '../../packages/sdk/test/listen.js'

const run = promisify(execFile)
const examples = fileURLToPath(new URL('..', import.meta.url))

let h: Awaited<ReturnType<typeof listeningHarness>>
let env: Record<string, string>

beforeAll(async () => {
  h = await listeningHarness()
  env = {
    PATH: process.env.PATH ?? '',
    GATEHOUSE_URL: h.url,
    GATEHOUSE_SPACE: 'default',
    GATEHOUSE_API_TOKEN: await serviceAccountToken(h, ['resources:write', 'access:request']),
    GATEHOUSE_APPROVAL_WAIT_MS: '0',
    STAFF_ID: 'u_7',
    STAFF_EMAIL: 'agent@example.com',
  }
})
afterAll(() => h.close())

/** As a user runs them: node with tsx resolving `./db` the way a bundler would. */
const node = (script: string, ...args: string[]) => run(process.execPath, ['--import', 'tsx', script, ...args], { cwd: examples, env })

describe('the reference examples', () => {
  it('upload.js uploads the customers from ./db as resources', async () => {
    await node('upload.js')
    const listed = await h.request('GET', '/v1/spaces/default/resources?kind=customer', { token: h.adminToken })
    expect(listed.body.resources.map((resource: { id: string; labels: { plan: string } }) => [resource.id, resource.labels.plan])).toEqual([
      ['c_1', 'enterprise'],
      ['c_2', 'pro'],
      ['c_3', 'free'],
      ['c_42', 'enterprise'],
    ])
  })

  it('request-access.js waits, and answers ok once a reviewer approves', async () => {
    expect(JSON.parse((await node('request-access.js', 'c_42')).stdout)).toEqual({ ok: false, status: 'waiting' })
    const reviewer = await h.createUser('reviewer')
    const open = await h.request('GET', '/v1/spaces/default/petitions?state=open', { token: h.adminToken })
    const petition = open.body.petitions.find((p: { resources: Array<{ id: string }> }) => p.resources[0]!.id === 'c_42')
    await h.request('POST', `/v1/spaces/default/petitions/${petition.id}:review`, { token: reviewer.token, body: { decision: 'approve' } })
    expect(JSON.parse((await node('request-access.js', 'c_42')).stdout)).toEqual({ ok: true })
  })
})

describe('the support-portal walk-through', () => {
  it('shows no tickets before approval, only c_42\'s after, none after revoke, and the grant in the audit log', async () => {
    const { stdout } = await run(process.execPath, ['support-portal/walkthrough.js'], { cwd: examples, env: { ...env, GATEHOUSE_ADMIN_TOKEN: h.adminToken } })
    const section = (n: number) => stdout.split(`\n== ${n}.`)[1]!.split('\n== ')[0]!
    expect(section(4)).toContain('[]')
    expect(section(5)).toContain('approval(): waiting')
    expect(section(7)).toContain('(c_42): Cannot export invoices')
    expect(section(7)).toContain('(c_42): SSO loop')
    expect(section(7)).not.toContain('c_7')
    expect(section(8)).toContain('[]')
    expect(section(9)).toMatch(/read tickets .* under grant grt_\w+ \(petition pet_\w+\)/)
  })
})
