import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../../http/errors.js'
import { checkWritableFields, unwritableFields } from './check-writable-fields.js'

const names = fc.constantFrom('id', 'first_name', 'last_name', 'email')

describe('checkWritableFields', () => {
  it('refuses exactly the fields the list does not name, in body order; no list refuses none', () => {
    fc.assert(
      fc.property(fc.option(fc.uniqueArray(names), { nil: undefined }), fc.uniqueArray(names), (writable, body) => {
        expect(unwritableFields({ writable }, body)).toEqual(writable === undefined ? [] : body.filter((name) => !writable.includes(name)))
      }),
    )
  })

  it('names every refused field in one 403', () => {
    let thrown: unknown
    try {
      checkWritableFields({ name: 'customers' }, { writable: ['id'] }, ['id', 'first_name', 'email'])
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(AppError)
    expect((thrown as AppError).code).toBe('forbidden')
    expect((thrown as AppError).message).toBe("your access policy does not let you write 'first_name', 'email' of model 'customers'")
    expect(() => checkWritableFields({ name: 'customers' }, { writable: ['id'] }, ['id'])).not.toThrow()
  })
})
