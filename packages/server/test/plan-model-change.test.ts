import { describe, expect, it } from 'vitest'
import type { ModelDefinition } from '../src/modules/vault/models/model-types.js'
import { planModelChange } from '../src/modules/vault/models/plan-model-change.js'

const current: ModelDefinition = {
  name: 'employees',
  primaryKey: 'employee_id',
  fields: {
    employee_id: { type: 'string' },
    first_name: { type: 'string' },
    last_name: { type: 'string', searchable: true },
    deals_ratio: { type: 'integer' },
    born: { type: 'date', required: true },
  },
}
const next = (fields: ModelDefinition['fields'], primaryKey = 'employee_id'): ModelDefinition => ({ name: 'employees', primaryKey, fields })

describe('planModelChange', () => {
  it('lists every change in order and marks only drops lossy', () => {
    const plan = planModelChange(
      current,
      next({ employee_id: { type: 'string' }, first_name: { type: 'string', searchable: true }, deals_ratio: { type: 'decimal' }, born: { type: 'datetime' }, email: { type: 'string', searchable: true } }),
      3,
    )
    expect(plan.changes).toEqual([
      { op: 'index', field: 'first_name', lossy: false },
      { op: 'drop', field: 'last_name', from: 'string', lossy: true },
      { op: 'widen', field: 'deals_ratio', from: 'integer', to: 'decimal', lossy: false },
      { op: 'widen', field: 'born', from: 'date', to: 'datetime', lossy: false },
      { op: 'unrequire', field: 'born', lossy: false },
      { op: 'add', field: 'email', to: 'string', required: false, lossy: false },
      { op: 'index', field: 'email', lossy: false },
    ])
    expect(plan.drops).toEqual(['last_name'])
    expect(plan.refused).toEqual([])
  })

  it('an unchanged definition is no change', () => {
    expect(planModelChange(current, next(current.fields), 10)).toEqual({ changes: [], drops: [], refused: [] })
  })

  it('refuses narrowing, the primary key, and a required field while records exist — every reason at once', () => {
    const plan = planModelChange(current, next({ first_name: { type: 'integer' }, deals_ratio: { type: 'boolean' }, born: { type: 'date', required: true }, owner: { type: 'string', required: true } }, 'first_name'), 2)
    expect(plan.refused).toEqual([
      "cannot change the primary key of model 'employees' from 'employee_id' to 'first_name'",
      "cannot drop the primary key 'employee_id' of model 'employees'",
      "changing field 'first_name' from string to integer could lose data; add a new field and copy the values instead",
      "changing field 'deals_ratio' from integer to boolean could lose data; add a new field and copy the values instead",
      "cannot add required field 'owner': 2 existing records have no value for it; add it as optional first",
    ])
    expect(plan.drops).toEqual(['last_name'])
    expect(planModelChange(current, next({ ...current.fields, owner: { type: 'string', required: true } }), 0).changes).toEqual([{ op: 'add', field: 'owner', to: 'string', required: true, lossy: false }])
  })

  it("names that are Object.prototype's own ('constructor') are fields like any other", () => {
    const withCtor: ModelDefinition = { name: 'm', primaryKey: 'id', fields: Object.fromEntries([['id', { type: 'string' }], ['constructor', { type: 'string' }]]) }
    expect(planModelChange(withCtor, { ...withCtor, fields: { id: { type: 'string' } } }, 0).drops).toEqual(['constructor'])
    expect(planModelChange({ ...withCtor, fields: { id: { type: 'string' } } }, withCtor, 0).changes).toEqual([{ op: 'add', field: 'constructor', to: 'string', required: false, lossy: false }])
  })

  it('making a field encrypted or plain is a job-backed change of its own; a converting field accepts only its target definition', () => {
    const encrypted = planModelChange(current, next({ ...current.fields, last_name: { type: 'string', encrypted: true, searchable: 'equality', indexBits: 12 } }), 40)
    expect(encrypted).toEqual({ changes: [{ op: 'encrypt', field: 'last_name', type: 'string', required: false, records: 40, lossy: false, blindIndex: true, index: true }], drops: [], refused: [] })
    const secret: ModelDefinition = { ...current, fields: { ...current.fields, ssn: { type: 'string', encrypted: true, required: true } } }
    expect(planModelChange(secret, next({ ...current.fields, ssn: { type: 'string', required: true } }), 5).changes).toEqual([{ op: 'decrypt', field: 'ssn', type: 'string', required: true, records: 5, lossy: false }])
    // One change at a time: no type or required change with it.
    expect(planModelChange(current, next({ ...current.fields, deals_ratio: { type: 'decimal', encrypted: true } }), 1).refused).toEqual([
      "cannot change the type of field 'deals_ratio' while making it encrypted: make one change at a time",
    ])
    expect(planModelChange(current, next({ ...current.fields, born: { type: 'date', encrypted: true } }), 1).refused[0]).toContain("cannot make field 'born' optional while making it encrypted")

    const converting: ModelDefinition = { ...current, fields: { ...current.fields, last_name: { type: 'string', searchable: true, converting: { job: 'job_1', to: { encrypted: true, searchable: 'equality', indexBits: 12 } } } } }
    const target = { type: 'string', encrypted: true, searchable: 'equality', indexBits: 12 } as const
    expect(planModelChange(converting, next({ ...current.fields, last_name: target, email: { type: 'string' } }), 40)).toEqual({
      changes: [{ op: 'add', field: 'email', to: 'string', required: false, lossy: false }],
      drops: [],
      refused: [],
    })
    expect(planModelChange(converting, next({ ...current.fields }), 40).refused[0]).toContain("field 'last_name' is being made encrypted by job 'job_1'")
    expect(planModelChange(converting, next({ ...current.fields, last_name: { ...target, required: true } }), 40).refused[0]).toContain("by job 'job_1'")
    const { last_name: _dropped, ...withoutIt } = current.fields
    expect(planModelChange(converting, next(withoutIt), 40).refused).toEqual(["cannot drop field 'last_name' while job 'job_1' converts it: wait for the job to end"])
  })
})
