import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { chooseRule, DEFAULT_RULE, policyMatches, reviewOutcome, whyCannotReview, type MatchSubject } from '../src/modules/approvals/approvals-policy.js'
import type { PetitionRule, Policy } from '../src/modules/approvals/approvals-types.js'
import { grantWindow } from '../src/modules/approvals/grant-window.js'

const kinds = fc.constantFrom('customer', 'account', 'ticket')
const labelValue = fc.constantFrom('free', 'pro', 'enterprise')
const group = fc.constantFrom('grp_a', 'grp_b', 'grp_c')

const policyArb: fc.Arbitrary<Policy> = fc.record({
  id: fc.uuid(),
  name: fc.string({ minLength: 1, maxLength: 6 }),
  priority: fc.integer({ min: 0, max: 5 }),
  match: fc.record(
    {
      resourceKinds: fc.array(kinds, { maxLength: 2 }),
      labels: fc.dictionary(fc.constantFrom('plan', 'region'), labelValue, { maxKeys: 1 }),
      petitionerGroups: fc.array(group, { maxLength: 2 }),
    },
    { requiredKeys: [] },
  ),
  decision: fc.constant({ type: 'review' as const }),
  createdAt: fc.constant(''),
  updatedAt: fc.constant(''),
})

const subjectArb: fc.Arbitrary<MatchSubject> = fc.record({
  resources: fc.array(fc.record({ kind: kinds, labels: fc.dictionary(fc.constantFrom('plan', 'region'), labelValue, { maxKeys: 2 }) }), { minLength: 1, maxLength: 3 }),
  petitionerGroups: fc.array(fc.array(group, { maxLength: 2 }), { minLength: 1, maxLength: 2 }),
})

const before = (a: Policy, b: Policy) => a.priority < b.priority || (a.priority === b.priority && a.name.localeCompare(b.name) < 0)

describe('policy matching', () => {
  it('the first matching policy in priority order decides; none matching means default review', () => {
    fc.assert(
      fc.property(fc.array(policyArb, { maxLength: 6 }), subjectArb, (policies, subject) => {
        const rule = chooseRule(policies, subject)
        const matching = policies.filter((policy) => policyMatches(policy.match, subject))
        if (matching.length === 0) {
          expect(rule).toEqual(DEFAULT_RULE)
          return
        }
        const chosen = policies.find((policy) => policy.id === rule.policyId)!
        expect(policyMatches(chosen.match, subject)).toBe(true)
        for (const other of matching) expect(before(other, chosen)).toBe(false)
      }),
      { numRuns: 500 },
    )
  })

  it('a policy with no conditions matches everything; a listed kind excludes other kinds', () => {
    fc.assert(
      fc.property(subjectArb, (subject) => {
        expect(policyMatches({}, subject)).toBe(true)
        const onlyTickets = policyMatches({ resourceKinds: ['ticket'] }, subject)
        expect(onlyTickets).toBe(subject.resources.every((resource) => resource.kind === 'ticket'))
      }),
    )
  })
})

const reviewRule = (approvalsRequired: number, allowSelfApproval = false, reviewers?: { users?: string[]; groups?: string[] }): PetitionRule => ({
  policyId: 'pol_1',
  policyName: 'p',
  decision: { type: 'review', approvalsRequired, allowSelfApproval, ...(reviewers ? { reviewers } : {}) },
  maxDurationSeconds: null,
  emergency: null,
})

describe('N-of-M reviews', () => {
  it('any deny denies; otherwise N distinct approvers grant; repeats by one person count once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ reviewerId: fc.constantFrom('r1', 'r2', 'r3', 'r4', 'r5'), decision: fc.constantFrom('approve' as const, 'deny' as const) }), { maxLength: 8 }),
        (required, reviews) => {
          const outcome = reviewOutcome(reviewRule(required), reviews)
          const distinctApprovers = new Set(reviews.filter((review) => review.decision === 'approve').map((review) => review.reviewerId)).size
          if (reviews.some((review) => review.decision === 'deny')) expect(outcome).toBe('denied')
          else expect(outcome).toBe(distinctApprovers >= required ? 'granted' : 'open')
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('self-approval', () => {
  it('is refused unless the policy allows it; reviewers outside the listed set are refused', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.constantFrom('admin' as const, 'reviewer' as const, 'member' as const), fc.boolean(), (isPetitioner, allowSelf, role, listed) => {
        const reviewer = { id: 'usr_r', email: 'r@example.com', role, groups: ['grp_a'] }
        const petitioners = [{ kind: 'user' as const, id: 'app_1', email: isPetitioner ? 'r@example.com' : 'p@example.com' }]
        const rule = reviewRule(1, allowSelf, listed ? { groups: ['grp_a'] } : undefined)
        const why = whyCannotReview(rule, reviewer, petitioners)
        const eligible = listed || role !== 'member'
        expect(why === null).toBe(eligible && (!isPetitioner || allowSelf))
      }),
    )
  })
})

describe('the grant window', () => {
  it('never exceeds the maximum, never starts before now or before the requested start, and lasts what was decided', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2026-01-01'), max: new Date('2027-01-01'), noInvalidDate: true }),
        fc.option(fc.integer({ min: -86400, max: 86400 }), { nil: null }),
        fc.option(fc.integer({ min: 60, max: 86400 * 7 }), { nil: null }),
        fc.option(fc.integer({ min: 60, max: 86400 * 7 }), { nil: null }),
        fc.option(fc.integer({ min: 60, max: 86400 }), { nil: null }),
        (now, startOffset, requestedSeconds, decidedSeconds, maxSeconds) => {
          const requestedStart = startOffset === null ? null : new Date(now.getTime() + startOffset * 1000)
          const window = grantWindow({ now, requestedStart, requestedSeconds, decidedSeconds, maxSeconds })
          if (maxSeconds !== null) expect(window.seconds).toBeLessThanOrEqual(maxSeconds)
          expect(window.startsAt.getTime()).toBeGreaterThanOrEqual(now.getTime())
          if (requestedStart) expect(window.startsAt.getTime()).toBeGreaterThanOrEqual(requestedStart.getTime())
          expect(window.expiresAt.getTime() - window.startsAt.getTime()).toBe(window.seconds * 1000)
          const wanted = decidedSeconds ?? requestedSeconds ?? 3600
          expect(window.seconds).toBe(Math.min(wanted, maxSeconds ?? Number.POSITIVE_INFINITY))
        },
      ),
      { numRuns: 500 },
    )
  })
})
