import { Type } from '@sinclair/typebox'
import { Email, Timestamp } from '../../http/schemas.js'
import { Labels, ResourceId, ResourceKind } from '../resources/resources-routes.js'

const Duration = Type.Integer({ minimum: 60, maximum: 365 * 24 * 3600, description: 'Seconds' })
const Comment = Type.String({ maxLength: 2000 })
const Id = Type.String({ minLength: 1, maxLength: 200 })
const IdList = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 })

const ActorSchema = Type.Object({ kind: Type.String(), id: Type.String(), display: Type.Optional(Type.String()), tokenId: Type.Optional(Type.String()) })

export const PetitionerSchema = Type.Object(
  { kind: Type.Literal('user'), id: Id, email: Email },
  { additionalProperties: false, description: "A person, by your application's id and their email" },
)
/** A petitioner as answered: with the Gatehouse user they resolved to (null while known by email alone). */
const StoredPetitionerSchema = Type.Object({ ...PetitionerSchema.properties, userId: Type.Union([Type.String(), Type.Null()]) })
export const ResourceRefSchema = Type.Object({ kind: ResourceKind, id: ResourceId }, { additionalProperties: false })

export const petitionInputFields = {
  petitioners: Type.Array(PetitionerSchema, { minItems: 1, maxItems: 20 }),
  resources: Type.Array(ResourceRefSchema, { minItems: 1, maxItems: 50 }),
  reason: Type.Optional(Type.String({ maxLength: 2000 })),
  durationSeconds: Type.Optional(Duration),
  startsAt: Type.Optional(Type.String({ format: 'date-time', description: 'Ask for access from a later time' })),
  emergency: Type.Optional(Type.Boolean({ description: 'Break-glass: granted at once for a short cap where a policy allows it; needs a reason' })),
}

const ReviewerSetSchema = Type.Object({ users: Type.Optional(IdList), groups: Type.Optional(IdList) }, { additionalProperties: false })
const reviewFields = {
  reviewers: Type.Optional(ReviewerSetSchema),
  approvalsRequired: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
  allowSelfApproval: Type.Optional(Type.Boolean()),
}

export const PolicyDecisionSchema = Type.Union([
  Type.Object({ type: Type.Literal('auto_approve'), durationSeconds: Duration }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('auto_deny'), reason: Type.Optional(Comment) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('review'), ...reviewFields }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal('delegate'),
      url: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 }),
      timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 30_000 })),
      ...reviewFields,
    },
    { additionalProperties: false },
  ),
])

const EmergencySchema = Type.Object({ allowed: Type.Boolean(), maxDurationSeconds: Duration }, { additionalProperties: false })

export const PolicyInputSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    priority: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Lower runs first' }),
    match: Type.Object(
      {
        resourceKinds: Type.Optional(Type.Array(ResourceKind, { maxItems: 50 })),
        labels: Type.Optional(Labels(20)),
        petitionerGroups: Type.Optional(IdList),
      },
      { additionalProperties: false },
    ),
    decision: PolicyDecisionSchema,
    maxDurationSeconds: Type.Optional(Duration),
    emergency: Type.Optional(EmergencySchema),
  },
  { additionalProperties: false },
)

export const PolicySchema = Type.Object(
  { id: Type.String(), ...PolicyInputSchema.properties, createdAt: Timestamp, updatedAt: Timestamp },
  { $id: 'Policy' },
)

const ReviewSchema = Type.Object({
  reviewerId: Type.String(),
  reviewerEmail: Type.String(),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]),
  durationSeconds: Type.Union([Type.Integer(), Type.Null()]),
  comment: Type.String(),
  createdAt: Timestamp,
})

export const PetitionSchema = Type.Object(
  {
    id: Type.String(),
    state: Type.Union([Type.Literal('open'), Type.Literal('granted'), Type.Literal('denied'), Type.Literal('cancelled')]),
    petitioners: Type.Array(StoredPetitionerSchema),
    resources: Type.Array(ResourceRefSchema),
    reason: Type.String(),
    durationSeconds: Type.Union([Type.Integer(), Type.Null()]),
    startsAt: Type.Union([Timestamp, Type.Null()]),
    emergency: Type.Boolean(),
    extendsGrantId: Type.Union([Type.String(), Type.Null()]),
    rule: Type.Object({
      policyId: Type.Union([Type.String(), Type.Null()]),
      policyName: Type.Union([Type.String(), Type.Null()]),
      // The properties listed are all that is serialised: a delegate's URL may carry a secret in its
      // query string and petitions are read by petitioners and reviewers, so it is left out here
      // (admins read it on the policy).
      decision: Type.Object({
        type: Type.String(),
        durationSeconds: Type.Optional(Type.Integer()),
        reason: Type.Optional(Type.String()),
        reviewers: Type.Optional(Type.Object({ users: Type.Optional(Type.Array(Type.String())), groups: Type.Optional(Type.Array(Type.String())) })),
        approvalsRequired: Type.Optional(Type.Integer()),
        allowSelfApproval: Type.Optional(Type.Boolean()),
        timeoutMs: Type.Optional(Type.Integer()),
      }),
      maxDurationSeconds: Type.Union([Type.Integer(), Type.Null()]),
    }),
    reviews: Type.Array(ReviewSchema),
    createdBy: ActorSchema,
    createdAt: Timestamp,
    decidedAt: Type.Union([Timestamp, Type.Null()]),
    decidedBy: Type.Union([ActorSchema, Type.Null()]),
    decisionComment: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Petition' },
)

/**
 * What a member sees of a petition (their own): its state, resources, the reviewers' decisions and
 * the times — closed, so the policy's rule (a delegate URL, the reviewer configuration) and the
 * actors' details never reach them, whatever is added to a petition later.
 */
const { id, state, petitioners, resources, reason, durationSeconds, startsAt, emergency, extendsGrantId, reviews, createdAt, decidedAt, decisionComment } = PetitionSchema.properties
export const MemberPetitionSchema = Type.Object(
  {
    view: Type.Literal('member', { description: 'This is the member view of a petition' }),
    ...{ id, state, petitioners, resources, reason, durationSeconds, startsAt, emergency, extendsGrantId, reviews, createdAt, decidedAt, decisionComment },
  },
  { $id: 'MemberPetition', additionalProperties: false },
)

/** A petition answered to whoever asks: members get the member view, everyone else the whole petition. */
export const PetitionForCallerSchema = Type.Union([Type.Ref(MemberPetitionSchema), Type.Ref(PetitionSchema)])

export const GrantSchema = Type.Object(
  {
    id: Type.String(),
    petitionId: Type.String(),
    petitioner: Type.Object({ id: Type.String(), email: Type.String(), userId: Type.Union([Type.String(), Type.Null()]) }),
    resource: ResourceRefSchema,
    startsAt: Timestamp,
    expiresAt: Timestamp,
    emergency: Type.Boolean(),
    revokedAt: Type.Union([Timestamp, Type.Null()]),
    revokedBy: Type.Union([ActorSchema, Type.Null()]),
    createdAt: Timestamp,
  },
  { $id: 'Grant' },
)

export const ApprovalOutcomeSchema = Type.Object(
  {
    status: Type.Union([Type.Literal('granted'), Type.Literal('waiting'), Type.Literal('denied')]),
    petition: Type.Union([Type.Ref(MemberPetitionSchema), Type.Ref(PetitionSchema), Type.Null()]),
    grants: Type.Array(Type.Ref(GrantSchema)),
  },
  { $id: 'ApprovalOutcome' },
)

export const ReviewInputSchema = Type.Object(
  {
    decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]),
    durationSeconds: Type.Optional(Duration),
    comment: Type.Optional(Comment),
  },
  { additionalProperties: false },
)

export const approvalsSchemas = [PolicySchema, PetitionSchema, MemberPetitionSchema, GrantSchema, ApprovalOutcomeSchema]
