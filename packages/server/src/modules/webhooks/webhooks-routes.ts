import { Type, type TLiteral, type TUnion } from '@sinclair/typebox'
import { principalOf } from '../../http/access.js'
import { authedErrors, Cursor, Description, EntityId, Page, SpaceId, SpaceParams, spaceAnd, Timestamp, withConflict } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import type { WebhooksService } from './webhooks-service.js'
import { MAX_URL_LENGTH } from './webhooks-service.js'
import { DELIVERY_STATES, WEBHOOK_EVENT_TYPES } from './webhooks-types.js'

/** A union of string literals from a list, keeping the literal types that `map` would widen to string. */
const oneOf = <T extends string>(values: readonly T[]) => Type.Union(values.map((value) => Type.Literal(value))) as TUnion<Array<TLiteral<T>>>

const EventFilter = oneOf([...WEBHOOK_EVENT_TYPES, '*'])
const Events = Type.Array(EventFilter, {
  maxItems: WEBHOOK_EVENT_TYPES.length + 1,
  description: `Which events to send: any of ${WEBHOOK_EVENT_TYPES.join(', ')}; empty or ['*'] for all`,
})
const Url = Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH, description: 'An http:// or https:// URL that receives POSTs' })
const State = oneOf(DELIVERY_STATES)
const NullableTimestamp = Type.Union([Timestamp, Type.Null()])

const EndpointProperties = {
  id: Type.String(),
  url: Type.String(),
  description: Type.String(),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  previousSecretExpiresAt: NullableTimestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
}
const EndpointSchema = Type.Object(EndpointProperties)
const EndpointWithSecretSchema = Type.Object({
  ...EndpointProperties,
  secret: Type.String({ description: 'The signing secret (`whsec_…`): shown only now; store it' }),
})

const DeliveryProperties = {
  id: Type.String(),
  endpointId: Type.String(),
  messageId: Type.String({ description: 'The webhook-id header, the same on every attempt' }),
  eventType: Type.String(),
  state: State,
  attemptCount: Type.Integer(),
  nextAttemptAt: NullableTimestamp,
  lastAttemptAt: NullableTimestamp,
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}
const DeliverySchema = Type.Object(DeliveryProperties)
const DeliveryDetailSchema = Type.Object({
  ...DeliveryProperties,
  payload: Type.Object({ type: Type.String(), timestamp: Timestamp, data: Type.Record(Type.String(), Type.Unknown()) }),
  attempts: Type.Array(
    Type.Object({
      attempt: Type.Integer(),
      attemptedAt: Timestamp,
      statusCode: Type.Union([Type.Integer(), Type.Null()]),
      error: Type.Union([Type.String(), Type.Null()]),
      durationMs: Type.Integer(),
      nextAttemptAt: NullableTimestamp,
    }),
  ),
})

const PageQuery = Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) })
const admin = { role: 'admin', scope: 'space:admin' } as const
const DeliveryParams = Type.Object({ space: SpaceId, endpointId: EntityId, deliveryId: EntityId })
const tags = ['webhooks']

export function registerWebhooksRoutes(app: App, { webhooks }: { webhooks: WebhooksService }): void {
  app.post('/v1/spaces/:space/webhooks', {
    schema: {
      operationId: 'createWebhookEndpoint',
      tags,
      summary: 'Register an endpoint; the response carries its signing secret, shown only this once',
      params: SpaceParams,
      body: Type.Object(
        { url: Url, description: Type.Optional(Description), events: Type.Optional(Events), enabled: Type.Optional(Type.Boolean()) },
        { additionalProperties: false },
      ),
      response: { 201: EndpointWithSecretSchema, ...authedErrors },
    },
    config: { access: admin },
    handler: async (request, reply) => reply.code(201).send(await webhooks.create(principalOf(request), request.body)),
  })

  app.get('/v1/spaces/:space/webhooks', {
    schema: { operationId: 'listWebhookEndpoints', tags, params: SpaceParams, querystring: PageQuery, response: { 200: Page('webhooks', EndpointSchema), ...authedErrors } },
    config: { access: admin },
    handler: async (request) => {
      const { items, nextCursor } = await webhooks.list(request.params.space, request.query.cursor ?? null, request.query.limit)
      return { webhooks: items, nextCursor }
    },
  })

  app.get('/v1/spaces/:space/webhooks/:endpointId', {
    schema: { operationId: 'getWebhookEndpoint', tags, params: spaceAnd('endpointId'), response: { 200: EndpointSchema, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => webhooks.get(request.params.space, request.params.endpointId),
  })

  app.patch('/v1/spaces/:space/webhooks/:endpointId', {
    schema: {
      operationId: 'updateWebhookEndpoint',
      tags,
      summary: 'Change an endpoint; disabling it cancels its queued deliveries, enabling it clears disabledReason',
      params: spaceAnd('endpointId'),
      body: Type.Object(
        { url: Type.Optional(Url), description: Type.Optional(Description), events: Type.Optional(Events), enabled: Type.Optional(Type.Boolean()) },
        { additionalProperties: false, minProperties: 1 },
      ),
      response: { 200: EndpointSchema, ...authedErrors },
    },
    config: { access: admin },
    handler: async (request) => webhooks.update(principalOf(request), request.params.endpointId, request.body),
  })

  app.delete('/v1/spaces/:space/webhooks/:endpointId', {
    schema: { operationId: 'deleteWebhookEndpoint', tags, params: spaceAnd('endpointId'), response: { 204: Type.Null(), ...authedErrors } },
    config: { access: admin },
    handler: async (request, reply) => {
      await webhooks.remove(principalOf(request), request.params.endpointId)
      return reply.code(204).send(null)
    },
  })

  // The regex ends the parameter name before the literal `:rotateSecret` (Fastify writes a colon as `::`).
  app.post('/v1/spaces/:space/webhooks/:endpointId(^[A-Za-z0-9_-]+)::rotateSecret', {
    schema: {
      operationId: 'rotateWebhookSecret',
      tags,
      summary: 'Issue a new signing secret; the old one keeps signing too until previousSecretExpiresAt (default 24 h)',
      params: spaceAnd('endpointId'),
      body: Type.Object(
        { overlapSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600, description: 'How long the old secret keeps signing; 0 drops it now' })) },
        { additionalProperties: false },
      ),
      response: { 200: EndpointWithSecretSchema, ...authedErrors },
    },
    config: { access: admin },
    // The body is optional: a bare POST rotates with the default overlap.
    preValidation: async (request) => {
      request.body ??= {}
    },
    handler: async (request) => webhooks.rotateSecret(principalOf(request), request.params.endpointId, request.body),
  })

  app.get('/v1/spaces/:space/webhooks/:endpointId/deliveries', {
    schema: {
      operationId: 'listWebhookDeliveries',
      tags,
      summary: 'Deliveries to an endpoint, newest first',
      params: spaceAnd('endpointId'),
      querystring: Type.Object({ state: Type.Optional(State), cursor: Type.Optional(Cursor), limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }) }),
      response: { 200: Page('deliveries', DeliverySchema), ...authedErrors },
    },
    config: { access: admin },
    handler: async (request) =>
      webhooks.listDeliveries(request.params.space, request.params.endpointId, {
        state: request.query.state ?? null,
        cursor: request.query.cursor ?? null,
        limit: request.query.limit,
      }),
  })

  app.get('/v1/spaces/:space/webhooks/:endpointId/deliveries/:deliveryId', {
    schema: { operationId: 'getWebhookDelivery', tags, params: DeliveryParams, response: { 200: DeliveryDetailSchema, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => webhooks.getDelivery(request.params.space, request.params.endpointId, request.params.deliveryId),
  })

  app.post('/v1/spaces/:space/webhooks/:endpointId/deliveries/:deliveryId(^[A-Za-z0-9_-]+)::redeliver', {
    schema: {
      operationId: 'redeliverWebhook',
      tags,
      summary: 'Queue a finished delivery again (same webhook-id, fresh retry schedule)',
      params: DeliveryParams,
      response: { 202: DeliveryDetailSchema, ...withConflict },
    },
    config: { access: admin },
    handler: async (request, reply) =>
      reply.code(202).send(await webhooks.redeliver(principalOf(request), request.params.endpointId, request.params.deliveryId)),
  })
}
