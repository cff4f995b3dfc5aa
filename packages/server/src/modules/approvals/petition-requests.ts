import { forbidden } from '../../http/errors.js'
import { sha256Hex } from '../../lib/secrets.js'
import { canonicalJson } from '../audit/audit-chain.js'
import type { Principal } from '../auth/auth-types.js'
import type { ResourceRef } from '../resources/resources-types.js'
import type { GrantPair } from './approvals-store.js'
import type { Grant, Petition, PetitionerInput, PetitionInput, Petitioner } from './approvals-types.js'

/*
 * What a request for access is, before any rule decides on it: its people and resources made
 * canonical, its key (one open petition per request), the pairs it asks for and whether grants cover
 * them, and who may ask for whom. Pure functions, used by the approvals service.
 */

export function normalise(input: PetitionInput): PetitionInput & { petitioners: PetitionerInput[]; resources: ResourceRef[] } {
  const petitioners = new Map<string, PetitionerInput>()
  for (const petitioner of input.petitioners) {
    const email = petitioner.email.trim().toLowerCase()
    petitioners.set(email, { kind: 'user', id: petitioner.id, email })
  }
  const resources = new Map<string, ResourceRef>()
  for (const resource of input.resources) resources.set(`${resource.kind}\u0000${resource.id}`, { kind: resource.kind, id: resource.id })
  return { ...input, petitioners: [...petitioners.values()], resources: [...resources.values()] }
}

/** Same people, same resources (in any order), same grant extended: same key, so at most one open petition. */
export function requestKey(input: { petitioners: PetitionerInput[]; resources: ResourceRef[] }, extendsGrantId: string | null): string {
  return sha256Hex(
    canonicalJson({
      petitioners: input.petitioners.map((petitioner) => petitioner.email).sort(),
      resources: input.resources.map((resource) => `${resource.kind}\u0000${resource.id}`).sort(),
      extends: extendsGrantId,
    }),
  )
}

export const pairsOf = (petition: { petitioners: Petitioner[]; resources: ResourceRef[] }): GrantPair[] =>
  petition.petitioners.flatMap((petitioner) => petition.resources.map((resource) => ({ userId: petitioner.userId, email: petitioner.email, resource })))

/** A grant covers a pair when it is that user's (or, for a person known by email alone, that email's and nobody's). */
export const grantCovers = (grant: Grant, pair: GrantPair) =>
  (pair.userId !== null ? grant.petitioner.userId === pair.userId : grant.petitioner.userId === null && grant.petitioner.email === pair.email) &&
  grant.resource.kind === pair.resource.kind &&
  grant.resource.id === pair.resource.id

export function coversAll(grants: Grant[], pairs: GrantPair[]): boolean {
  return pairs.every((pair) => grants.some((grant) => grantCovers(grant, pair)))
}

/** The same people as now: each petitioner resolves to the same user (or to none) as when the petition was made. */
export const samePeople = (petition: Petition, petitioners: Petitioner[]) =>
  petitioners.every((petitioner) => petition.petitioners.some((stored) => stored.email === petitioner.email && stored.userId === petitioner.userId))

export const samePetitioners = (a: Petitioner[], b: Petitioner[]) => a.length === b.length && a.every((petitioner, i) => petitioner.email === b[i]!.email && petitioner.userId === b[i]!.userId)

/**
 * Each petitioner with the user their email belongs to now, or null while no user has it. A
 * deactivated user cannot be given access: asking for them is refused, saying so.
 */
export function resolvePetitioners(petitioners: PetitionerInput[], users: Array<{ id: string; email: string; disabledAt: string | null }>): Petitioner[] {
  return petitioners.map((petitioner) => {
    const user = users.find((candidate) => candidate.email === petitioner.email)
    if (user?.disabledAt) throw forbidden(`${petitioner.email} is a deactivated user of this space: no access can be asked for them`)
    return { ...petitioner, userId: user?.id ?? null }
  })
}

/** A person acting for themselves may only ask for themselves; applications (service accounts) and admins ask for others. */
export function assertMayPetitionFor(by: Principal, petitioners: PetitionerInput[]): void {
  if (by.kind === 'service_account' || by.role === 'admin') return
  if (!by.email) throw forbidden('this token acts as no user: applications ask for their users with a service-account token')
  const other = petitioners.find((petitioner) => petitioner.email !== by.email)
  if (other) throw forbidden(`you can ask for access only for yourself, not for ${other.email}; applications ask for their users with a service-account token`)
}

/**
 * Members see only their own petitions and grants, matched on their user id; reviewers, admins and
 * applications see all.
 */
export const ownUserFilter = (by: Principal): string | undefined =>
  by.kind === 'user' && by.role === 'member' ? (by.userId ?? by.subjectId) : undefined
