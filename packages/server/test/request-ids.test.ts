import { describe, expect, it } from 'vitest'
import { createRequestIds } from '../src/lib/ids.js'

describe('request ids from a pool of random bytes', () => {
  it('are req_ and 16 hex digits, as before the pool', () => {
    const next = createRequestIds()
    for (let i = 0; i < 1000; i += 1) expect(next()).toMatch(/^req_[0-9a-f]{16}$/)
  })

  it('never repeat across refills: the pool is refilled with new bytes, not reused', () => {
    // Two ids per pool: 2,000 ids are 1,000 refills; a pool handed out twice would repeat at once.
    const next = createRequestIds(16)
    const ids = Array.from({ length: 2000 }, () => next())
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('each app gets its own pool', () => {
    const a = createRequestIds(16)
    const b = createRequestIds(16)
    expect(a()).not.toBe(b())
  })
})
