import { Type } from '@sinclair/typebox'
import { principalOf } from '../../http/access.js'
import { authedErrors, Cursor, SpaceId, SpaceParams, Timestamp } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import { parseLabelFilters, type ResourcesService } from './resources-service.js'
import { MAX_BULK_RESOURCES } from './resources-types.js'

export const ResourceKind = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$', description: 'e.g. `customer`' })
export const ResourceId = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f]+$' })
/** Label names are checked by pattern (reserved object keys excluded); without `additionalProperties: false` a bad name would pass unchecked. */
export const LABEL_NAME = '^(?!(?:__proto__|constructor|prototype)$)[A-Za-z0-9_./-]{1,63}$'
export const Labels = (maxProperties: number) =>
  Type.Record(Type.String({ pattern: LABEL_NAME }), Type.String({ maxLength: 256 }), { maxProperties, additionalProperties: false })

export const ResourceSchema = Type.Object(
  { kind: ResourceKind, id: ResourceId, displayName: Type.String(), labels: Type.Record(Type.String(), Type.String()), createdAt: Timestamp, updatedAt: Timestamp },
  { $id: 'Resource' },
)

const ResourceInputSchema = Type.Object(
  { kind: ResourceKind, id: ResourceId, displayName: Type.Optional(Type.String({ maxLength: 500 })), labels: Type.Optional(Labels(50)) },
  { additionalProperties: false },
)

const ResourceParams = Type.Object({ space: SpaceId, kind: ResourceKind, id: ResourceId })

export function registerResourcesRoutes(app: App, { resources }: { resources: ResourcesService }): void {
  app.post('/v1/spaces/:space/resources::bulkUpdate', {
    schema: {
      operationId: 'bulkUpdateResources',
      tags: ['resources'],
      summary: `Create or update up to ${MAX_BULK_RESOURCES} resources at once: all or none, and repeating it changes nothing`,
      params: SpaceParams,
      body: Type.Object({ resources: Type.Array(ResourceInputSchema, { minItems: 1, maxItems: MAX_BULK_RESOURCES }) }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          received: Type.Integer(),
          changed: Type.Integer({ description: 'Resources created or whose name or labels changed' }),
        }),
        ...authedErrors,
      },
    },
    config: { access: { role: 'admin', scope: 'resources:write' } },
    handler: async (request) => resources.bulkUpdate(principalOf(request), request.body.resources),
  })

  app.get('/v1/spaces/:space/resources', {
    schema: {
      operationId: 'listResources',
      tags: ['resources'],
      params: SpaceParams,
      querystring: Type.Object({
        kind: Type.Optional(ResourceKind),
        label: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9_./-]{1,63}:', maxLength: 320 }), { maxItems: 10, description: '`name:value`, repeatable' })),
        cursor: Type.Optional(Cursor),
        limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
      }),
      response: { 200: Type.Object({ resources: Type.Array(Type.Ref(ResourceSchema)), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...authedErrors },
    },
    config: { access: { role: 'member', scope: 'resources:read' } },
    handler: async (request) => {
      const { kind, label, cursor, limit } = request.query
      return resources.list(request.params.space, { kind, labels: label ? parseLabelFilters(label) : undefined }, cursor, limit)
    },
  })

  app.get('/v1/spaces/:space/resources/:kind/:id', {
    schema: { operationId: 'getResource', tags: ['resources'], params: ResourceParams, response: { 200: Type.Ref(ResourceSchema), ...authedErrors } },
    config: { access: { role: 'member', scope: 'resources:read' } },
    handler: async (request) => resources.get(request.params.space, request.params),
  })

  app.delete('/v1/spaces/:space/resources/:kind/:id', {
    schema: { operationId: 'deleteResource', tags: ['resources'], params: ResourceParams, response: { 204: Type.Null(), ...authedErrors } },
    config: { access: { role: 'admin', scope: 'resources:write' } },
    handler: async (request, reply) => {
      await resources.delete(principalOf(request), { kind: request.params.kind, id: request.params.id })
      return reply.code(204).send(null)
    },
  })
}

export const resourcesSchemas = [ResourceSchema]
