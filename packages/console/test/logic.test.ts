import { describe, expect, it } from 'vitest'
import { chooseDuration, countdown, formatDuration } from '../src/logic/duration.js'
import { buildFilter } from '../src/logic/filter-builder.js'

describe('duration picker', () => {
  it('reads what people type, as seconds', () => {
    expect(chooseDuration('1h')).toEqual({ ok: true, seconds: 3600, capped: false })
    expect(chooseDuration(' 1h30m ')).toEqual({ ok: true, seconds: 5400, capped: false })
    expect(chooseDuration('900')).toEqual({ ok: true, seconds: 900, capped: false })
    expect(chooseDuration('2d')).toEqual({ ok: true, seconds: 172800, capped: false })
  })
  it('refuses what is not a duration, saying how to write one', () => {
    for (const bad of ['', 'soon', '1x', '-5', '0', '1h and then']) {
      const choice = chooseDuration(bad)
      expect(choice.ok, bad).toBe(false)
      if (!choice.ok) expect(choice.error).toMatch(/duration|enter/)
    }
  })
  it("caps at the policy's maximum and says so", () => {
    expect(chooseDuration('8h', 4 * 3600)).toEqual({ ok: true, seconds: 4 * 3600, capped: true })
    expect(chooseDuration('4h', 4 * 3600)).toEqual({ ok: true, seconds: 4 * 3600, capped: false })
  })
  it('formats durations and countdowns', () => {
    expect(formatDuration(3600)).toBe('1h')
    expect(formatDuration(5400)).toBe('1h 30m')
    expect(formatDuration(90061)).toBe('1d 1h 1m 1s')
    const now = new Date('2026-01-01T00:00:00Z')
    expect(countdown('2026-01-01T00:59:58Z', now)).toBe('ends in 59m 58s')
    expect(countdown('2025-12-31T23:59:59Z', now)).toBe('ended')
  })
})

describe('filter builder', () => {
  const fields = [
    { name: 'customer_id', type: 'string' },
    { name: 'priority', type: 'integer' },
    { name: 'open', type: 'boolean' },
    { name: 'amount', type: 'decimal' },
  ]
  it('writes equality as the shorthand and types each value by its field', () => {
    expect(buildFilter([{ field: 'customer_id', op: '$eq', value: 'c_42' }, { field: 'open', op: '$eq', value: 'true' }], fields)).toEqual({
      ok: true,
      filter: { customer_id: 'c_42', open: true },
    })
    expect(buildFilter([{ field: 'priority', op: '$gte', value: '2' }, { field: 'priority', op: '$lt', value: '5' }], fields)).toEqual({
      ok: true,
      filter: { priority: { $gte: 2, $lt: 5 } },
    })
    expect(buildFilter([{ field: 'amount', op: '$in', value: '1.5, 2' }], fields)).toEqual({ ok: true, filter: { amount: { $in: [1.5, 2] } } })
    expect(buildFilter([{ field: 'customer_id', op: '$like', value: 'c_%' }, { field: 'open', op: '$exists', value: '' }], fields)).toEqual({
      ok: true,
      filter: { customer_id: { $like: 'c_%' }, open: { $exists: true } },
    })
  })
  it('skips empty rows: no conditions is the empty filter', () => {
    expect(buildFilter([{ field: '', op: '$eq', value: '' }], fields)).toEqual({ ok: true, filter: {} })
  })
  it('says what is wrong instead of sending a filter the server would refuse', () => {
    const built = buildFilter(
      [
        { field: 'priority', op: '$eq', value: 'high' },
        { field: 'priority', op: '$like', value: '1%' },
        { field: 'secret', op: '$eq', value: 'x' },
        { field: 'open', op: '$eq', value: 'yes' },
        { field: 'amount', op: '$in', value: ' , ' },
      ],
      fields,
    )
    expect(built.ok).toBe(false)
    if (!built.ok) {
      expect(built.errors).toEqual([
        "priority: 'high' is not a whole number",
        "priority: 'matches' works on text fields only",
        "condition 3: 'secret' is not a field you can filter on",
        'open: use true or false',
        'amount: list at least one value, comma-separated',
      ])
    }
  })
})
