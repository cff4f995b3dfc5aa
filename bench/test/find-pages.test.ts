import { expect, it } from 'vitest'
import { pageOffsets } from '../scenarios/find-memory.js'
import { findQueries } from '../lib/vault-fixture.js'

it('pages a find from its first page to its last, evenly, on page boundaries', () => {
  expect(pageOffsets(1_000_000, 16)[0]).toBe(0)
  expect(pageOffsets(1_000_000, 16).at(-1)).toBe(999_900)
  expect(pageOffsets(1_000_000, 16)).toHaveLength(16)
  expect(pageOffsets(2_000, 4)).toEqual([0, 600, 1300, 1900])
  for (const offset of pageOffsets(123_456, 7)) expect(offset % 100).toBe(0)
  expect(pageOffsets(50, 3)).toEqual([0, 0, 0])
})

it('sizes the finds by the row count, so each matches about as many rows at any size', () => {
  for (const rows of [100_000, 1_000_000]) {
    const [selective, range, sort] = findQueries(rows)
    const [low, high] = range!.params as [number, number]
    // Amounts are spread over [0, 1,000,000): the width is the share of rows the range should hold.
    expect(Math.round(((high - low) * rows) / 1_000_000)).toBe(1000)
    expect(sort!.describe).toContain('2000 rows')
    expect(selective!.body.filter).toEqual({ customer_id: selective!.params[0] })
  }
})
