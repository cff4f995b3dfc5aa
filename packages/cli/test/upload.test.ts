/**
 * Issue 16: `gatehouse resources upload` of a 200,000-row CSV: the progress output advances, a kill
 * mid-way leaves a state file, and a rerun with --resume skips what it records and stores the rest,
 * so every row is stored exactly once.
 */
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STORE } from '../../server/test/harness.js'
import { CLI, gatehouse, liveServer, tempDir } from './helpers.js'

const ROWS = 200_000
let h: Awaited<ReturnType<typeof liveServer>>
let dir: ReturnType<typeof tempDir>
let file: string

beforeAll(async () => {
  h = await liveServer()
  dir = tempDir()
  file = join(dir.dir, 'customers.csv')
  const out = createWriteStream(file)
  out.write('kind,id,displayName,label.plan\n')
  for (let i = 0; i < ROWS; i += 1) {
    if (!out.write(`customer,c_${i},"Customer ${i}, Ltd",${i % 3 === 0 ? 'free' : 'pro'}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
})
afterAll(async () => {
  await h?.close()
  dir?.remove()
})

const stored = async () => Number((await h.db.query<{ n: string }>(`SELECT count(*) AS n FROM resources WHERE space_id = 'default' AND kind = 'customer'`)).rows[0]!.n)

describe(`resources upload of ${ROWS} rows on ${STORE}`, () => {
  it('shows progress, survives a kill, and --resume stores exactly the rest', async () => {
    const env = { HOME: dir.dir, XDG_CONFIG_HOME: join(dir.dir, 'config'), GATEHOUSE_URL: h.url, GATEHOUSE_API_TOKEN: h.adminToken }
    const child = spawn(process.execPath, [CLI, 'resources', 'upload', file], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    const killedAt = new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
        // Killed once a few progress lines are out: well into the file, well before its end.
        if ((stderr.match(/^upload: \d+ rows/gm) ?? []).length >= 4 && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL')
          resolve()
        }
      })
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    await Promise.race([killedAt, exited])
    await exited
    expect(child.killed, `the upload finished before it could be killed:\n${stderr}`).toBe(true)

    const counts = [...stderr.matchAll(/^upload: (\d+) rows \((\d+)%\), \d+ rows\/s$/gm)].map((m) => Number(m[1]))
    expect(counts.length).toBeGreaterThanOrEqual(4)
    for (let i = 1; i < counts.length; i += 1) expect(counts[i]).toBeGreaterThan(counts[i - 1]!)

    const statePath = `${file}.gatehouse-upload.json`
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as { records: number; line: number }
    expect(state.records).toBeGreaterThanOrEqual(counts.at(-1)!)
    expect(state.records).toBeLessThan(ROWS)
    expect(state.line).toBe(state.records + 1) // one line per record after the header
    // Requests the killed process had sent may still be committing on the server: counted once
    // the count holds still (three equal reads half a second apart).
    let before = await stored()
    for (let same = 0; same < 2; ) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      const now = await stored()
      same = now === before ? same + 1 : 0
      before = now
    }
    // Batches after the recorded one may have landed before the kill: they are sent again, unchanged.
    expect(before).toBeGreaterThanOrEqual(state.records)
    expect(before).toBeLessThan(ROWS)

    const resumed = await gatehouse(['resources', 'upload', file, '--resume', '--json'], { env })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stderr).toContain(`resuming after line ${state.line} (${state.records} records already stored)`)
    const result = JSON.parse(resumed.stdout) as { records: number; uploaded: number; skipped: number; changed: number }
    expect(result).toMatchObject({ records: ROWS, skipped: state.records, uploaded: ROWS - state.records })
    // Exactly once: what the first run stored plus what the second run changed is every row.
    expect(result.changed).toBe(ROWS - before)
    expect(await stored()).toBe(ROWS)
    expect(existsSync(statePath)).toBe(false)
    const last = await h.request('GET', `/v1/spaces/default/resources/customer/c_${ROWS - 1}`, { token: h.adminToken })
    expect(last.body).toMatchObject({ displayName: `Customer ${ROWS - 1}, Ltd`, labels: { plan: (ROWS - 1) % 3 === 0 ? 'free' : 'pro' } })
  }, 300_000) // 200,000 rows stored on a shared machine: ~10 s alone, minutes under a full parallel suite
})
