import type { Principal } from '../auth/auth-types.js'
import type { Petition } from './approvals-types.js'

/** The member view of a petition: see MemberPetitionSchema. Built field by field, so nothing else can slip in. */
export interface MemberPetition {
  view: 'member'
  id: string
  state: Petition['state']
  petitioners: Petition['petitioners']
  resources: Petition['resources']
  reason: string
  durationSeconds: number | null
  startsAt: string | null
  emergency: boolean
  extendsGrantId: string | null
  reviews: Petition['reviews']
  createdAt: string
  decidedAt: string | null
  decisionComment: string | null
}

export function memberView(petition: Petition): MemberPetition {
  return {
    view: 'member',
    id: petition.id,
    state: petition.state,
    petitioners: petition.petitioners.map(({ kind, id, email, userId }) => ({ kind, id, email, userId })),
    resources: petition.resources.map(({ kind, id }) => ({ kind, id })),
    reason: petition.reason,
    durationSeconds: petition.durationSeconds,
    startsAt: petition.startsAt,
    emergency: petition.emergency,
    extendsGrantId: petition.extendsGrantId,
    reviews: petition.reviews.map(({ reviewerId, reviewerEmail, decision, durationSeconds, comment, createdAt }) => ({ reviewerId, reviewerEmail, decision, durationSeconds, comment, createdAt })),
    createdAt: petition.createdAt,
    decidedAt: petition.decidedAt,
    decisionComment: petition.decisionComment,
  }
}

/**
 * The petition as this caller may see it: a person with the member role gets the member view
 * (their own petitions only reach them); reviewers, admins and applications the whole petition,
 * rule included. Decided by the role, per response, never by what the caller asks for.
 */
export const petitionFor = (by: Principal, petition: Petition): Petition | MemberPetition =>
  by.kind === 'user' && by.role === 'member' ? memberView(petition) : petition
