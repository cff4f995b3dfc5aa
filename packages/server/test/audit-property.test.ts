import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, type Harness } from './harness.js'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

/** JSON that PostgreSQL can store: jsonb has no NUL character. */
const storableJson = fc.jsonValue({ maxDepth: 3 }).filter((value) => !JSON.stringify(value).includes('\\u0000'))

describe('the canonical encoding', () => {
  it('survives the jsonb round trip for any metadata: the log verifies whatever was recorded', async () => {
    const space = 'prop'
    await h.createSpace(space)
    const audit = h.built.services.audit
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string({ maxLength: 12 }), storableJson, { maxKeys: 5 }), fc.array(fc.record({ kind: fc.string({ minLength: 1, maxLength: 8 }), id: fc.string({ maxLength: 8 }) }), { maxLength: 3 }), async (meta, resources) => {
        const clean = JSON.parse(JSON.stringify({ meta, resources }))
        if (JSON.stringify(clean).includes('\\u0000')) return
        await h.db.transaction((tx) => audit.append(tx, space, { event: 'test/property', actor: { kind: 'system', id: 'test' }, resources: clean.resources, meta: clean.meta }))
      }),
      { numRuns: 150 },
    )
    await audit.integrateNow(space)
    const report = await audit.verify(space, [])
    expect(report.firstBroken).toBeNull()
    expect(report.checkedEvents).toBeGreaterThan(150)
  })
})
