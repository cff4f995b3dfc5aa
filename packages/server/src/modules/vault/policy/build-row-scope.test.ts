import { describe, expect, it } from 'vitest'
import type { FieldSpec } from '../find/filter-types.js'
import { buildRowScope } from './build-row-scope.js'

const fields: ReadonlyMap<string, FieldSpec> = new Map([
  ['id', { name: 'id', type: 'string', column: 'id' }],
  ['region', { name: 'region', type: 'string', column: 'c_region' }],
])

describe('buildRowScope', () => {
  it('is null without a row filter', () => {
    expect(buildRowScope(fields, {})).toBeNull()
  })

  it("compiles the admin's filter through the table's columns, placeholders from $1", () => {
    expect(buildRowScope(fields, { rowFilter: { region: 'eu' } })).toEqual({ sql: '"c_region" = $1::text', params: ['eu'] })
  })

  it('refuses a filter naming a field the table lacks, as the compiler does', () => {
    expect(() => buildRowScope(fields, { rowFilter: { nope: 1 } })).toThrow(/unknown field 'nope'/)
  })
})
