import { Type } from '@sinclair/typebox'
import { principalOf } from '../../http/access.js'
import { authedErrors, SpaceId, SpaceParams, withConflict } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import { PolicyInputSchema, PolicySchema } from './approvals-schemas.js'
import type { PolicyFields } from './policies-store.js'
import type { PoliciesService } from './policies-service.js'

const PolicyParams = Type.Object({ space: SpaceId, policyId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) })
const admin = { role: 'admin', scope: 'access:admin' } as const

export function registerPoliciesRoutes(app: App, { policies }: { policies: PoliciesService }): void {
  app.post('/v1/spaces/:space/policies', {
    schema: { operationId: 'createPolicy', tags: ['policies'], params: SpaceParams, body: PolicyInputSchema, response: { 201: Type.Ref(PolicySchema), ...withConflict } },
    config: { access: admin },
    handler: async (request, reply) => reply.code(201).send(await policies.create(principalOf(request), request.body as PolicyFields)),
  })

  app.get('/v1/spaces/:space/policies', {
    schema: {
      operationId: 'listPolicies',
      tags: ['policies'],
      summary: 'Policies in the order they are tried; the first that matches decides',
      params: SpaceParams,
      response: { 200: Type.Object({ policies: Type.Array(Type.Ref(PolicySchema)) }), ...authedErrors },
    },
    config: { access: { role: 'reviewer', scope: 'access:read' } },
    handler: async (request) => ({ policies: await policies.list(request.params.space) }),
  })

  app.get('/v1/spaces/:space/policies/:policyId', {
    schema: { operationId: 'getPolicy', tags: ['policies'], params: PolicyParams, response: { 200: Type.Ref(PolicySchema), ...authedErrors } },
    config: { access: { role: 'reviewer', scope: 'access:read' } },
    handler: async (request) => policies.get(request.params.space, request.params.policyId),
  })

  app.put('/v1/spaces/:space/policies/:policyId', {
    schema: { operationId: 'replacePolicy', tags: ['policies'], params: PolicyParams, body: PolicyInputSchema, response: { 200: Type.Ref(PolicySchema), ...withConflict } },
    config: { access: admin },
    handler: async (request) => policies.replace(principalOf(request), request.params.policyId, request.body as PolicyFields),
  })

  app.delete('/v1/spaces/:space/policies/:policyId', {
    schema: { operationId: 'deletePolicy', tags: ['policies'], params: PolicyParams, response: { 204: Type.Null(), ...authedErrors } },
    config: { access: admin },
    handler: async (request, reply) => {
      await policies.delete(principalOf(request), request.params.policyId)
      return reply.code(204).send(null)
    },
  })
}
