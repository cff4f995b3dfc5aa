import { Type } from '@sinclair/typebox'
import type { FastifyError, FastifyRequest } from 'fastify'
import { toAppError } from '../../../http/error-handler.js'
import { authedErrors } from '../../../http/schemas.js'
import type { App } from '../../../http/types.js'
import type { VaultAction } from '../policies/vault-policy-types.js'
import { MAX_RECORD_ID_LENGTH } from './record-codec.js'
import { MAX_FIND_LIMIT, type RecordsService } from './records-service.js'
import { vaultContextOf } from './vault-context.js'

export const MAX_BATCH_RECORDS = 100
const ModelParams = Type.Object({ model: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }) })
const RecordParams = Type.Object({
  model: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }),
  id: Type.String({ minLength: 1, maxLength: MAX_RECORD_ID_LENGTH, description: `The record's primary key, at most ${MAX_RECORD_ID_LENGTH} characters` }),
})
/**
 * The router's bound on one URL path segment, before decoding: a record id of MAX_RECORD_ID_LENGTH
 * code points, each percent-encoded as up to 12 characters (4 UTF-8 bytes), always fits, so a
 * long id meets the schema's 400 rather than the router's 414.
 */
export const MAX_PATH_PARAM_LENGTH = MAX_RECORD_ID_LENGTH * 12
const RecordSchema = Type.Record(Type.String(), Type.Unknown(), { description: 'The fields your access policy lets you read, plus created_at and updated_at' })
const RecordBody = Type.Record(Type.String({ maxLength: 63 }), Type.Unknown(), { maxProperties: 200 })
/** The find language's request: the data plane and the console's explorer take the same body. */
export const FindBody = Type.Object(
  {
    filter: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    options: Type.Optional(
      Type.Object(
        {
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FIND_LIMIT, description: `1 to ${MAX_FIND_LIMIT} (default ${MAX_FIND_LIMIT}); use offset to page past it` })),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
          sort: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Union([Type.Literal('asc'), Type.Literal('desc')])), { maxItems: 5 })),
          fields: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { maxItems: 200 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

const dataPlaneErrors = { ...authedErrors, 409: Type.Ref('ErrorEnvelope'), 502: Type.Ref('ErrorEnvelope'), 504: Type.Ref('ErrorEnvelope') }
const vaultSecurity = [{ vaultToken: [] }]
const MODEL_NAME = /^[a-z][a-z0-9_]{0,62}$/

/**
 * Reference 004's REST API. Authenticated by a vault token (POST /oauth/token): `access: { vault: true }`
 * has the access hook check it on request, before the body is read or validated (these callers are
 * vault clients, not space members).
 */
export function registerRecordsRoutes(app: App, { records }: { records: RecordsService }): void {
  // A body refused before the service runs (not JSON, not storable, not valid) is audited as the
  // service audits its own refusals: the caller is known by then, the token was checked on request.
  const reached = new WeakSet<FastifyRequest>()
  const common = (action: VaultAction) => ({
    config: { access: { vault: true } as const },
    preHandler: async (request: FastifyRequest) => {
      reached.add(request)
    },
    errorHandler: async (error: FastifyError, request: FastifyRequest) => {
      const model = (request.params as { model?: unknown } | undefined)?.model
      if (!reached.has(request) && request.vaultContext && typeof model === 'string' && MODEL_NAME.test(model)) {
        await records.refuse(request.vaultContext, model, action, toAppError(error))
      }
      throw error
    },
  })

  app.post('/api/models/:model/find', {
    schema: {
      operationId: 'findRecords',
      tags: ['vault data'],
      summary: 'Find records with a filter; an external ACL narrows them to what the current user may see',
      security: vaultSecurity,
      params: ModelParams,
      body: FindBody,
      response: {
        200: Type.Object({
          data: Type.Array(RecordSchema),
          meta: Type.Object({ total: Type.Integer(), count: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }),
        }),
        ...dataPlaneErrors,
      },
    },
    ...common('read'),
    handler: async (request) => records.find(vaultContextOf(request), request.params.model, request.body ?? {}),
  })

  app.post('/api/models/:model', {
    schema: { operationId: 'createRecord', tags: ['vault data'], security: vaultSecurity, params: ModelParams, body: RecordBody, response: { 201: RecordSchema, ...dataPlaneErrors } },
    ...common('write'),
    handler: async (request, reply) => reply.code(201).send(await records.create(vaultContextOf(request), request.params.model, request.body)),
  })

  app.post('/api/models/:model/batch', {
    schema: {
      operationId: 'createRecords',
      tags: ['vault data'],
      summary: `Create up to ${MAX_BATCH_RECORDS} records: all or none`,
      security: vaultSecurity,
      params: ModelParams,
      body: Type.Object({ records: Type.Array(RecordBody, { minItems: 1, maxItems: MAX_BATCH_RECORDS }) }, { additionalProperties: false }),
      response: { 201: Type.Object({ data: Type.Array(RecordSchema) }), ...dataPlaneErrors },
    },
    ...common('write'),
    handler: async (request, reply) => reply.code(201).send({ data: await records.batch(vaultContextOf(request), request.params.model, request.body.records) }),
  })

  app.get('/api/models/:model/:id', {
    schema: { operationId: 'getRecord', tags: ['vault data'], security: vaultSecurity, params: RecordParams, response: { 200: RecordSchema, ...dataPlaneErrors } },
    ...common('read'),
    handler: async (request) => records.get(vaultContextOf(request), request.params.model, request.params.id),
  })

  app.patch('/api/models/:model/:id', {
    schema: { operationId: 'updateRecord', tags: ['vault data'], security: vaultSecurity, params: RecordParams, body: RecordBody, response: { 200: RecordSchema, ...dataPlaneErrors } },
    ...common('write'),
    handler: async (request) => records.patch(vaultContextOf(request), request.params.model, request.params.id, request.body),
  })

  app.delete('/api/models/:model/:id', {
    schema: { operationId: 'deleteRecord', tags: ['vault data'], security: vaultSecurity, params: RecordParams, response: { 204: Type.Null(), ...dataPlaneErrors } },
    ...common('delete'),
    handler: async (request, reply) => {
      await records.delete(vaultContextOf(request), request.params.model, request.params.id)
      return reply.code(204).send(null)
    },
  })
}
