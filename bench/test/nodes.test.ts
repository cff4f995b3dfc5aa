import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { spread } from '../scenarios/scale-out.js'
import { rssGrowth, runSoak, type SoakReport } from '../lib/soak.js'

const out = mkdtempSync(join(tmpdir(), 'gatehouse-bench-soak-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('the figures of scale-out and the soak', () => {
  it('spread answers p50, p99 and max', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(spread(values)).toEqual({ samples: 100, p50: 51, p99: 100, max: 100 })
    expect(spread([3])).toEqual({ samples: 1, p50: 3, p99: 3, max: 3 })
  })

  it('rssGrowth compares the lowest (and the highest) of the first and last thirds after the warm-up', () => {
    // Warm-up at 50, then a sawtooth whose teeth climb by 3 each (a slow leak), samples one a second.
    const samples = Array.from({ length: 70 }, (_, i) => ({ at: 1000 * i, rss: i < 10 ? 50 : 100 + 3 * Math.floor((i - 10) / 10) + ((i - 10) % 10) }))
    const growth = rssGrowth(samples, 0, 10)
    expect(growth.afterWarmup).toBe(100) // the first tooth's foot, in the first 20 samples
    expect(growth.end).toBe(112)
    expect(growth.growth).toBeCloseTo(112 / 100 - 1)
    expect(growth.topGrowth).toBeCloseTo(124 / 112 - 1)
    expect(growth.peakAfterWarmup).toBe(124)
    // Samples after the load ended are not counted.
    expect(rssGrowth(samples, 0, 10, 39_000).end).toBe(106)
    expect(() => rssGrowth(samples.slice(0, 12), 0, 10)).toThrow('too few RSS samples')
  })
})


it('a tiny soak runs one server, answers every request and reports its RSS and heap', { timeout: 300_000 }, async () => {
  const outcome = await runSoak({ store: 'pglite', adminUrl: null, seconds: 8, rows: 1000, fillerGrants: 100, outDir: out, log: () => undefined })
  const written = JSON.parse(readFileSync(outcome.file, 'utf8')) as SoakReport
  expect(written.errors).toEqual({ access: 0, find: 0 })
  expect(written.requests.access).toBeGreaterThan(0)
  expect(written.requests.find).toBeGreaterThan(0)
  expect(written.curve.length).toBeGreaterThanOrEqual(3)
  // The heap beside the RSS, sample for sample, read the same way: what tells a leak from the allocator.
  expect(written.heapCurve).toHaveLength(written.curve.length)
  expect(written.heap.afterWarmup).toBeGreaterThan(0)
  expect(written.heap.afterWarmup).toBeLessThan(written.rss.afterWarmup)
  expect(outcome.text).toContain('| Soak |')
})
