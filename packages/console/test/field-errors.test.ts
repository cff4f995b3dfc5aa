import { describe, expect, it } from 'vitest'
import { bodyIssues, issuesByField } from '../src/screens/admin/field-errors.js'

/** The server's error bodies as the SDK throws them: { code, message, details }. */
const failed = (message: string, details?: Record<string, unknown>) => ({ status: 400, code: 'validation_failed', message, details })

describe('field errors: the server names a path in the body, the console finds the input holding it', () => {
  it('reads details.issues, below body, and gives each input the rest of its path', () => {
    const error = failed('body.match.resourceKnds: is not a known property; did you mean resourceKinds?', {
      issues: [
        { path: 'body.match.resourceKnds', message: 'is not a known property; did you mean resourceKinds?' },
        { path: 'body.priority', message: 'must be integer' },
        { path: 'querystring.limit', message: 'must be <= 200' },
      ],
    })
    const issues = bodyIssues(error)
    expect(issues).toEqual([
      { path: ['match', 'resourceKnds'], message: 'is not a known property; did you mean resourceKinds?' },
      { path: ['priority'], message: 'must be integer' },
    ])
    expect(issuesByField(issues, ['name', 'priority', 'match'])).toEqual({
      match: ['resourceKnds: is not a known property; did you mean resourceKinds?'],
      priority: ['must be integer'],
    })
  })

  it('an issue no input owns goes to the form as a whole, with its whole path', () => {
    const issues = bodyIssues(failed('x', { issues: [{ path: 'body.colour', message: 'is not a known property' }] }))
    expect(issuesByField(issues, ['name'])).toEqual({ '': ['colour: is not a known property'] })
  })

  it('without details, the path at the start of the message', () => {
    const issues = bodyIssues(failed("body.rules.patients.readable.1: model 'patients' has no field 'emial'; did you mean 'email'?"))
    expect(issues).toEqual([{ path: ['rules', 'patients', 'readable', '1'], message: "model 'patients' has no field 'emial'; did you mean 'email'?" }])
    expect(issuesByField(issues, ['name', 'rules']).rules).toEqual(["patients.readable.1: model 'patients' has no field 'emial'; did you mean 'email'?"])
  })

  it('other errors name no field: a conflict, a refused URL, a message without a body path', () => {
    expect(bodyIssues({ code: 'conflict', message: 'body.email: a user with this email exists' })).toEqual([])
    expect(bodyIssues({ code: 'bad_request', message: 'url points at a refused address' })).toEqual([])
    expect(bodyIssues(failed('options.limit: at most 1000 records per find'))).toEqual([])
    expect(bodyIssues(null)).toEqual([])
  })
})
