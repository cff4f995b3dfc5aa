import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STORE } from '../../server/test/harness.js'
import { setUpVault } from '../../server/test/vault-harness.js'
import { gatehouse, liveServer, tempDir } from './helpers.js'

let h: Awaited<ReturnType<typeof liveServer>>
let home: ReturnType<typeof tempDir>
const admin = (...args: string[]) => gatehouse(['--url', h.url, '--token', h.adminToken, ...args], { env: { HOME: home.dir } })

beforeAll(async () => {
  h = await liveServer()
  home = tempDir()
  // A job kind of the test's own: 40 units, 5 per batch, slowly enough for --wait to see it advance.
  h.built.jobRunner.register('cli-test', async (job) => {
    await new Promise((resolve) => setTimeout(resolve, 500))
    const done = job.done + 5
    return { processed: 5, cursor: done >= 40 ? null : String(done) }
  })
  h.built.jobRunner.start()
})
afterAll(async () => {
  await h?.close()
  home?.remove()
})

describe(`gatehouse vault jobs on ${STORE}`, () => {
  it('lists jobs, and --wait follows one to the end with its progress, exiting 0', async () => {
    const job = await h.db.transaction((tx) => h.built.services.jobs.create(tx, 'default', { kind: 'cli-test', total: 40 }))
    h.built.services.jobs.queued()
    const waited = await admin('vault', 'jobs', job.id, '--wait', '--interval', '20')
    expect(waited.code, waited.stderr).toBe(0)
    expect(waited.stdout).toMatch(/state:\s+succeeded/)
    expect(waited.stdout).toMatch(/done:\s+40/)
    // Seen running (8 batches of 0.5 s), then followed to the end.
    expect(waited.stderr).toContain(`waiting for cli-test job ${job.id}`)

    const listed = await admin('vault', 'jobs', '--state', 'succeeded')
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toContain(job.id)
    expect(listed.stdout).toContain('40/40')
    expect(JSON.parse((await admin('vault', 'jobs', '--json')).stdout).jobs[0]).toMatchObject({ id: job.id, state: 'succeeded' })
    expect((await admin('vault', 'jobs', '--wait')).code).toBe(2)
    expect((await admin('vault', 'jobs', 'job_nope')).code).toBe(1)
  })

  it("shows a data key rotation's size: the job is counted when queued, and its progress reads done/total", async () => {
    const model = { name: 'cards', primaryKey: 'id', fields: { id: { type: 'integer' }, holder: { type: 'string', encrypted: true } } }
    expect((await h.request('POST', '/v1/spaces/default/vault/models', { token: h.adminToken, body: model })).status).toBe(201)
    const { token } = await setUpVault(h, { cards: { actions: ['write'], acl: { source: 'none' } } }, null)
    const records = Array.from({ length: 30 }, (_, id) => ({ id, holder: `holder ${id}` }))
    expect((await h.request('POST', '/api/models/cards/batch', { token, body: { records } })).status).toBe(201)
    const rotated = await h.request('POST', '/v1/spaces/default/vault/keys/data/rotate', { token: h.adminToken })
    expect(rotated.body.job).toMatchObject({ state: 'queued', done: 0, total: 30 })

    const waited = await admin('vault', 'jobs', rotated.body.job.id, '--wait', '--interval', '20', '--json')
    expect(waited.code, waited.stderr).toBe(0)
    expect(JSON.parse(waited.stdout)).toMatchObject({ state: 'succeeded', done: 30, total: 30 })
    const listed = await admin('vault', 'jobs', '--state', 'succeeded')
    expect(listed.stdout).toMatch(new RegExp(`${rotated.body.job.id}\\s+vault\\.reencrypt\\s+succeeded\\s+30/30`))
  })

  it('vault apply making a field encrypted names the conversion job, which --wait follows; applying again is no change', async () => {
    const file = join(home.dir, 'vault.yaml')
    const model = (ssn: string) => `models:\n  - name: people\n    primaryKey: id\n    fields:\n      id: { type: string }\n      ssn: ${ssn}\n`
    writeFileSync(file, model('{ type: string }'))
    expect((await admin('vault', 'apply', file, '--yes')).code).toBe(0)
    // A new model's plan says which fields are encrypted, as `vault models` does.
    const other = join(home.dir, 'other.yaml')
    writeFileSync(other, 'models:\n  - name: badges\n    primaryKey: id\n    fields:\n      id: { type: string }\n      holder: { type: string, encrypted: true, searchable: equality }\n      note: { type: string, encrypted: true }\n')
    const created = await admin('vault', 'apply', other)
    expect(created.stdout).toContain('field holder (string, encrypted, equality search)')
    expect(created.stdout).toContain('field note (string, encrypted)')
    expect(created.stdout).toContain('field id (string)')
    writeFileSync(file, model('{ type: string, encrypted: true, searchable: equality }'))
    const plan = await admin('vault', 'apply', file)
    expect(plan.stdout).toContain('make field ssn encrypted: a background job rewrites its 0 records')
    const applied = await admin('vault', 'apply', file, '--yes')
    expect(applied.code, applied.stderr).toBe(0)
    const jobId = /job (job_\S+) converts field ssn/.exec(applied.stderr)?.[1]
    expect(jobId, applied.stderr).toBeDefined()
    expect((await admin('vault', 'models')).stdout).toContain(`ssn:string(→encrypted, job ${jobId})`)
    expect((await admin('vault', 'apply', file)).stdout).toContain('Nothing to do')
    const waited = await admin('vault', 'jobs', jobId!, '--wait', '--interval', '50')
    expect(waited.code, waited.stderr).toBe(0)
    expect(waited.stdout).toMatch(/state:\s+succeeded/)
    expect((await admin('vault', 'models')).stdout).toContain('ssn:string(encrypted)')
    expect((await admin('vault', 'apply', file)).stdout).toContain('Nothing to do')
  })
})
