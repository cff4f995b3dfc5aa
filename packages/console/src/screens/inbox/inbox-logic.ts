import type { Petition, PetitionView } from '@gatehouse/sdk/client'

/** The whole petition (reviewers and admins get it; members get a view without the rule). */
export const isFull = (petition: PetitionView): petition is Petition => 'rule' in petition

/** Open petitions this person may decide: not their own unless the policy allows self-approval, and not already reviewed by them. */
export function decidable(petitions: PetitionView[], userId: string): Petition[] {
  return petitions.filter(isFull).filter((petition) => {
    if (petition.state !== 'open') return false
    const own = petition.petitioners.some((petitioner) => petitioner.userId === userId)
    if (own && !petition.rule.decision.allowSelfApproval) return false
    return !petition.reviews.some((review) => review.reviewerId === userId)
  })
}

/** "1 of 2 approvals". */
export function progress(petition: Petition): string {
  const approvals = petition.reviews.filter((review) => review.decision === 'approve').length
  const required = petition.rule.decision.approvalsRequired ?? 1
  return `${approvals} of ${required} approval${required === 1 ? '' : 's'}`
}
