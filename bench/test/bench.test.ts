import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import type { BenchReport } from '../lib/report.js'
import { runBench } from '../lib/runner.js'
import { TINY_SIZES } from '../lib/sizes.js'
import { scenarios } from '../scenarios/index.js'

// The same runner `npm run bench -- --quick` uses, on tiny sizes: every scenario runs on every store
// and yields a ratio. No timing is asserted: these machines are shared, and the sizes are too small
// for the figures to mean anything. (Scale-out starts three server processes on PostgreSQL: on a
// loaded 2-core machine that alone takes a minute.)
const stores = process.env.DATABASE_URL ? (['pglite', 'postgres'] as const) : (['pglite'] as const)
const out = mkdtempSync(join(tmpdir(), 'gatehouse-bench-smoke-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

it(`runs every scenario on ${stores.join(' and ')} and writes the JSON result`, { timeout: 600_000 }, async () => {
  const outcome = await runBench({
    stores: [...stores],
    adminUrl: process.env.DATABASE_URL ?? null,
    quick: true,
    sizes: TINY_SIZES,
    outDir: out,
    progress: false,
    command: 'bench smoke test',
    log: () => undefined,
  })
  const written = JSON.parse(readFileSync(outcome.file, 'utf8')) as BenchReport
  expect(written.results.filter((record) => !record.ok).map((record) => `${record.scenario} on ${record.store}: ${record.error}`)).toEqual([])
  for (const store of stores) {
    for (const scenario of scenarios) {
      const record = written.results.find((entry) => entry.scenario === scenario.name && entry.store === store)
      expect(record, `${scenario.name} on ${store}`).toBeDefined()
      for (const ratio of record!.result!.ratios) {
        expect(Number.isFinite(ratio.value) && ratio.value > 0, `${scenario.name} on ${store}: ${ratio.name} = ${ratio.value}`).toBe(true)
      }
    }
  }
  expect(outcome.table).toContain('| Access check |')
})

it.runIf(process.env.DATABASE_URL)('--bulk-rows uploads twice to a server in its own process and reports its RSS (PostgreSQL)', { timeout: 180_000 }, async () => {
  const outcome = await runBench({
    stores: ['postgres'],
    adminUrl: process.env.DATABASE_URL!,
    quick: true,
    sizes: { ...TINY_SIZES, bulkRssRows: 3000 },
    scenarios: ['bulk-upload'],
    outDir: out,
    progress: false,
    command: 'bench smoke test (--bulk-rows)',
    log: () => undefined,
  })
  const [record] = (JSON.parse(readFileSync(outcome.file, 'utf8')) as BenchReport).results
  expect(record?.error ?? null).toBeNull()
  const figures = record!.result!.figures.gatehouse
  expect(figures.bulkRows?.value).toBe(3000)
  expect(figures.bulkRssPeak!.value).toBeGreaterThanOrEqual(figures.bulkRssStart!.value)
  expect(record!.result!.notes.join('\n')).toContain('(0 changed)')
})
