import { Type } from '@sinclair/typebox'
import { principalOf } from '../../http/access.js'
import { authedErrors, Cursor, Name, Page, SpaceId, SpaceParams, Timestamp, withConflict } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import type { SpacesService } from './spaces-service.js'

const SpaceSchema = Type.Object({ id: Type.String(), displayName: Type.String(), createdAt: Timestamp })

const instanceAdmin = { role: 'admin', scope: 'instance:admin' } as const

export function registerSpacesRoutes(app: App, { spaces }: { spaces: SpacesService }): void {
  app.post('/v1/spaces', {
    schema: {
      operationId: 'createSpace',
      tags: ['spaces'],
      summary: 'Create a space with an `admin` service account; its token is in the answer, once',
      body: Type.Object({ id: SpaceId, displayName: Type.Optional(Name) }, { additionalProperties: false }),
      response: { 201: Type.Object({ space: SpaceSchema, adminToken: Type.Ref('IssuedToken') }), ...withConflict },
    },
    config: { access: instanceAdmin },
    handler: async (request, reply) => reply.code(201).send(await spaces.create(principalOf(request), request.body)),
  })

  app.get('/v1/spaces', {
    schema: {
      operationId: 'listSpaces',
      tags: ['spaces'],
      querystring: Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) }),
      response: { 200: Page('spaces', SpaceSchema), ...authedErrors },
    },
    config: { access: instanceAdmin },
    handler: async (request) => spaces.list(request.query.cursor ?? null, request.query.limit),
  })

  app.get('/v1/spaces/:space', {
    schema: { operationId: 'getSpace', tags: ['spaces'], params: SpaceParams, response: { 200: SpaceSchema, ...authedErrors } },
    config: { access: { role: 'member', scope: 'space:read' } },
    handler: async (request) => spaces.get(request.params.space),
  })
}
