import type { PetitionerInput, PetitionRule, Policy, PolicyMatch, ReviewerSet, Review } from './approvals-types.js'

export interface MatchSubject {
  resources: Array<{ kind: string; labels: Record<string, string> }>
  /** Group ids of each petitioner, in petitioner order (empty for people who are not users here). */
  petitionerGroups: string[][]
}

/**
 * Whether a policy covers a petition: every resource is of a listed kind and carries every listed
 * label, and every petitioner is in one of the listed groups. An absent condition matches anything.
 */
export function policyMatches(match: PolicyMatch, subject: MatchSubject): boolean {
  const kindsOk = !match.resourceKinds?.length || subject.resources.every((resource) => match.resourceKinds!.includes(resource.kind))
  const labels = Object.entries(match.labels ?? {})
  const labelsOk = subject.resources.every((resource) => labels.every(([name, value]) => resource.labels[name] === value))
  const groupsOk =
    !match.petitionerGroups?.length || subject.petitionerGroups.every((groups) => groups.some((group) => match.petitionerGroups!.includes(group)))
  return kindsOk && labelsOk && groupsOk
}

/** Without a matching policy, any reviewer or admin of the space may approve, one approval suffices. */
export const DEFAULT_RULE: PetitionRule = {
  policyId: null,
  policyName: null,
  decision: { type: 'review', approvalsRequired: 1, allowSelfApproval: false },
  maxDurationSeconds: null,
  emergency: null,
}

/** Policies in order (lowest priority number first, then name); the first that matches decides. */
export function chooseRule(policies: readonly Policy[], subject: MatchSubject): PetitionRule {
  const ordered = [...policies].sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name))
  const policy = ordered.find((candidate) => policyMatches(candidate.match, subject))
  if (!policy) return DEFAULT_RULE
  return {
    policyId: policy.id,
    policyName: policy.name,
    decision: policy.decision,
    maxDurationSeconds: policy.maxDurationSeconds ?? null,
    emergency: policy.emergency ?? null,
  }
}

export interface Reviewer {
  id: string
  email: string
  role: 'admin' | 'reviewer' | 'member'
  groups: string[]
}

function reviewersOf(rule: PetitionRule): { set: ReviewerSet | undefined; required: number; allowSelf: boolean } {
  const decision = rule.decision
  if (decision.type === 'review' || decision.type === 'delegate') {
    return { set: decision.reviewers, required: Math.max(1, decision.approvalsRequired ?? 1), allowSelf: decision.allowSelfApproval ?? false }
  }
  return { set: undefined, required: 1, allowSelf: false }
}

/**
 * Null when this person may review the petition, else why not. Listed reviewers (users or groups)
 * may review whatever their role; with no list, any reviewer or admin of the space may.
 */
export function whyCannotReview(rule: PetitionRule, reviewer: Reviewer, petitioners: ReadonlyArray<PetitionerInput & { userId?: string | null }>): string | null {
  const { set, allowSelf } = reviewersOf(rule)
  const listed = Boolean(set?.users?.length || set?.groups?.length)
  const eligible = listed
    ? Boolean(set?.users?.includes(reviewer.id) || set?.groups?.some((group) => reviewer.groups.includes(group)))
    : reviewer.role === 'reviewer' || reviewer.role === 'admin'
  if (!eligible) return listed ? `you are not among the reviewers of policy '${rule.policyName}'` : 'only reviewers and admins of this space review petitions'
  const isPetitioner = petitioners.some((petitioner) => petitioner.userId === reviewer.id || petitioner.email === reviewer.email || petitioner.id === reviewer.id)
  if (isPetitioner && !allowSelf) return 'you cannot review your own petition: self-approval is off for this policy'
  return null
}

/** Any deny decides `denied`; N distinct approvals decide `granted`; otherwise still open. */
export function reviewOutcome(rule: PetitionRule, reviews: readonly Pick<Review, 'decision' | 'reviewerId'>[]): 'granted' | 'denied' | 'open' {
  if (reviews.some((review) => review.decision === 'deny')) return 'denied'
  const approvers = new Set(reviews.filter((review) => review.decision === 'approve').map((review) => review.reviewerId))
  return approvers.size >= reviewersOf(rule).required ? 'granted' : 'open'
}

export const approvalsRequired = (rule: PetitionRule): number => reviewersOf(rule).required
