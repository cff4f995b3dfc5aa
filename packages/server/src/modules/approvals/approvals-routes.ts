import { type TSchema, Type } from '@sinclair/typebox'
import { principalOf } from '../../http/access.js'
import { authedErrors, Cursor, Email, SpaceId, SpaceParams, withConflict } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import { ResourceId, ResourceKind } from '../resources/resources-routes.js'
import type { ApprovalsService } from './approvals-service.js'
import type { ApprovalOutcome } from './approvals-types.js'
import { ApprovalOutcomeSchema, GrantSchema, petitionInputFields, PetitionForCallerSchema, ReviewInputSchema } from './approvals-schemas.js'
import type { Principal } from '../auth/auth-types.js'
import { petitionFor } from './petition-views.js'

/** The longest a single approval call may hold its connection waiting for a decision. */
export const MAX_APPROVAL_WAIT_MS = 30_000

const PetitionParams = Type.Object({ space: SpaceId, petitionId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) })
const GrantParams = Type.Object({ space: SpaceId, grantId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) })
const Limit = Type.Integer({ minimum: 1, maximum: 200, default: 50 })
const page = <K extends string, S extends TSchema>(key: K, ref: S) => Type.Object({ [key]: Type.Array(ref), nextCursor: Type.Union([Type.String(), Type.Null()]) })

const request = { role: 'member', scope: 'access:request' } as const
const read = { role: 'member', scope: 'access:read' } as const
const review = { role: 'member', scope: 'access:review' } as const

const toWire = (by: Principal, outcome: ApprovalOutcome) => ({
  status: outcome.status,
  petition: outcome.petition && petitionFor(by, outcome.petition),
  grants: outcome.status === 'granted' ? outcome.grants : [],
})

export function registerApprovalsRoutes(app: App, { approvals }: { approvals: ApprovalsService }): void {
  app.post('/v1/spaces/:space/approvals', {
    schema: {
      operationId: 'approval',
      tags: ['access'],
      summary: 'approval(): granted if every petitioner holds every resource now; else the one open petition for this request, waited on up to waitMs',
      params: SpaceParams,
      body: Type.Object(
        { ...petitionInputFields, waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_APPROVAL_WAIT_MS, default: 0 })) },
        { additionalProperties: false },
      ),
      response: { 200: Type.Ref(ApprovalOutcomeSchema), ...authedErrors },
    },
    config: { access: request },
    handler: async (request) => {
      const { waitMs = 0, ...input } = request.body
      const by = principalOf(request)
      return toWire(by, await approvals.approval(by, input, waitMs))
    },
  })

  app.post('/v1/spaces/:space/petitions', {
    schema: {
      operationId: 'createPetition',
      tags: ['access'],
      summary: 'Ask for access (a policy may decide it at once)',
      params: SpaceParams,
      body: Type.Object(petitionInputFields, { additionalProperties: false }),
      response: { 201: PetitionForCallerSchema, ...authedErrors },
    },
    config: { access: request },
    handler: async (request, reply) => {
      const by = principalOf(request)
      return reply.code(201).send(petitionFor(by, await approvals.create(by, request.body)))
    },
  })

  app.get('/v1/spaces/:space/petitions', {
    schema: {
      operationId: 'listPetitions',
      tags: ['access'],
      summary: 'Petitions, newest first (members see their own)',
      params: SpaceParams,
      querystring: Type.Object({
        state: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('granted'), Type.Literal('denied'), Type.Literal('cancelled')])),
        petitioner: Type.Optional(Email),
        cursor: Type.Optional(Cursor),
        limit: Limit,
      }),
      response: { 200: page('petitions', PetitionForCallerSchema), ...authedErrors },
    },
    config: { access: read },
    handler: async (request) => {
      const { state, petitioner, cursor, limit } = request.query
      const by = principalOf(request)
      const { petitions, nextCursor } = await approvals.listPetitions(by, { state, petitionerEmail: petitioner?.toLowerCase() }, cursor ?? null, limit)
      return { petitions: petitions.map((petition) => petitionFor(by, petition)), nextCursor }
    },
  })

  app.get('/v1/spaces/:space/petitions/:petitionId', {
    schema: { operationId: 'getPetition', tags: ['access'], params: PetitionParams, response: { 200: PetitionForCallerSchema, ...authedErrors } },
    config: { access: read },
    handler: async (request) => {
      const by = principalOf(request)
      return petitionFor(by, await approvals.getPetition(by, request.params.petitionId))
    },
  })

  app.post('/v1/spaces/:space/petitions/:petitionId(^[A-Za-z0-9_-]+)::review', {
    schema: {
      operationId: 'reviewPetition',
      tags: ['access'],
      summary: 'Approve (with a duration and comment) or deny (with a comment)',
      params: PetitionParams,
      body: ReviewInputSchema,
      response: { 200: PetitionForCallerSchema, ...withConflict },
    },
    config: { access: review },
    handler: async (request) => {
      const by = principalOf(request)
      return petitionFor(by, await approvals.review(by, request.params.petitionId, request.body))
    },
  })

  app.post('/v1/spaces/:space/petitions/:petitionId(^[A-Za-z0-9_-]+)::cancel', {
    schema: { operationId: 'cancelPetition', tags: ['access'], params: PetitionParams, response: { 200: PetitionForCallerSchema, ...withConflict } },
    config: { access: request },
    handler: async (request) => {
      const by = principalOf(request)
      return petitionFor(by, await approvals.cancel(by, request.params.petitionId))
    },
  })

  app.get('/v1/spaces/:space/grants', {
    schema: {
      operationId: 'listGrants',
      tags: ['access'],
      summary: 'Grants, newest first (members see their own); `active=true` for those that work now',
      params: SpaceParams,
      querystring: Type.Object({
        petitioner: Type.Optional(Email),
        resourceKind: Type.Optional(ResourceKind),
        resourceId: Type.Optional(ResourceId),
        active: Type.Optional(Type.Boolean()),
        cursor: Type.Optional(Cursor),
        limit: Limit,
      }),
      response: { 200: page('grants', Type.Ref(GrantSchema)), ...authedErrors },
    },
    config: { access: read },
    handler: async (request) => {
      const { petitioner, resourceKind, resourceId, active, cursor, limit } = request.query
      return approvals.listGrants(principalOf(request), { petitionerEmail: petitioner?.toLowerCase(), resourceKind, resourceId, active }, cursor ?? null, limit)
    },
  })

  app.get('/v1/spaces/:space/grants/:grantId', {
    schema: { operationId: 'getGrant', tags: ['access'], params: GrantParams, response: { 200: Type.Ref(GrantSchema), ...authedErrors } },
    config: { access: read },
    handler: async (request) => approvals.getGrant(principalOf(request), request.params.grantId),
  })

  app.post('/v1/spaces/:space/grants/:grantId(^[A-Za-z0-9_-]+)::revoke', {
    schema: {
      operationId: 'revokeGrant',
      tags: ['access'],
      summary: 'End a grant now, optionally saying why (recorded in the audit event and the webhook)',
      params: GrantParams,
      body: Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) }, { additionalProperties: false }),
      response: { 200: Type.Ref(GrantSchema), ...authedErrors },
    },
    config: { access: { role: 'reviewer', scope: 'access:review' } },
    // The body is optional: a revoke without one (as before the reason existed) validates as {}.
    preValidation: async (request) => {
      request.body ??= {}
    },
    handler: async (request) => approvals.revokeGrant(principalOf(request), request.params.grantId, request.body.reason),
  })

  app.post('/v1/spaces/:space/grants/:grantId(^[A-Za-z0-9_-]+)::extend', {
    schema: {
      operationId: 'extendGrant',
      tags: ['access'],
      summary: 'Ask to extend an active grant: a petition whose grant starts where this one ends',
      params: GrantParams,
      body: Type.Object({ durationSeconds: petitionInputFields.durationSeconds, reason: petitionInputFields.reason }, { additionalProperties: false }),
      response: { 201: PetitionForCallerSchema, ...withConflict },
    },
    config: { access: request },
    handler: async (request, reply) => {
      const by = principalOf(request)
      return reply.code(201).send(petitionFor(by, await approvals.extendGrant(by, request.params.grantId, request.body)))
    },
  })
}
