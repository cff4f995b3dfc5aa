import { useId } from 'react'
import { OPERATORS, type Condition, type FieldInfo, type Operator } from '../../logic/filter-builder'

/** The filter builder's rows: field, operator, value; conditions are ANDed. */
export function FilterRows({ fields, conditions, onChange }: { fields: FieldInfo[]; conditions: Condition[]; onChange(next: Condition[]): void }) {
  const base = useId()
  const update = (index: number, patch: Partial<Condition>) => onChange(conditions.map((condition, i) => (i === index ? { ...condition, ...patch } : condition)))
  return (
    <fieldset className="stack filter-rows">
      <legend>Filter (all conditions must match)</legend>
      {conditions.map((condition, index) => (
        <div className="row" key={index}>
          <div className="field">
            <label htmlFor={`${base}-field-${index}`}>Field</label>
            <select id={`${base}-field-${index}`} value={condition.field} onChange={(e) => update(index, { field: e.target.value })}>
              <option value="">—</option>
              {fields.map((field) => (
                <option key={field.name} value={field.name}>
                  {field.name} ({field.type})
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${base}-op-${index}`}>Condition</label>
            <select id={`${base}-op-${index}`} value={condition.op} onChange={(e) => update(index, { op: e.target.value as Operator })}>
              {OPERATORS.map((operator) => (
                <option key={operator.op} value={operator.op}>
                  {operator.label}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${base}-value-${index}`}>Value</label>
            <input id={`${base}-value-${index}`} value={condition.value} onChange={(e) => update(index, { value: e.target.value })} />
          </div>
          <button type="button" className="secondary" onClick={() => onChange(conditions.filter((_, i) => i !== index))} aria-label={`Remove condition ${index + 1}`}>
            Remove
          </button>
        </div>
      ))}
      <div>
        <button type="button" className="secondary" onClick={() => onChange([...conditions, { field: '', op: '$eq', value: '' }])}>
          Add condition
        </button>
      </div>
    </fieldset>
  )
}
