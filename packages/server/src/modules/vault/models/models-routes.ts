import { Type } from '@sinclair/typebox'
import { principalOf } from '../../../http/access.js'
import { authedErrors, SpaceId, SpaceParams, Timestamp, withConflict } from '../../../http/schemas.js'
import type { App } from '../../../http/types.js'
import { FIELD_TYPES, MAX_FIELDS } from './model-types.js'
import type { ModelsService } from './models-service.js'

const FieldSchema = Type.Object(
  {
    type: Type.Union(FIELD_TYPES.map((type) => Type.Literal(type))),
    searchable: Type.Optional(
      Type.Union([Type.Boolean(), Type.Literal('equality')], {
        description: "true: index it, for fast filters and sorts. 'equality' (encrypted fields only): a blind index for $eq, $in, $ne and $nin",
      }),
    ),
    required: Type.Optional(Type.Boolean()),
    encrypted: Type.Optional(Type.Boolean({ description: 'Store it as AES-256-GCM ciphertext (string, integer, decimal, date, datetime, json; not the primary key)' })),
    expectedRows: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e12, description: "Rows the model is expected to hold: sizes an 'equality' blind index (default 1,000,000)" })),
    indexBits: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, description: "The blind index length in bits, instead of the one expectedRows gives; fixed once the field exists" })),
  },
  { additionalProperties: false },
)
const Fields = Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }), FieldSchema, { maxProperties: MAX_FIELDS, additionalProperties: false })
const ModelName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' })

/** A field as the vault shows it: its definition, and `converting` while a job makes it encrypted or plain (set by the vault, never sent). */
const StoredFieldSchema = Type.Composite([
  FieldSchema,
  Type.Object({
    converting: Type.Optional(
      Type.Object(
        {
          job: Type.String(),
          to: Type.Object({
            encrypted: Type.Boolean(),
            searchable: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('equality')])),
            expectedRows: Type.Optional(Type.Integer()),
            indexBits: Type.Optional(Type.Integer()),
          }),
        },
        { description: 'A background job is converting the field; the definition above is its stored form until the job ends, `to` what it becomes' },
      ),
    ),
  }),
], { additionalProperties: false })

export const ModelSchema = Type.Object(
  { name: Type.String(), primaryKey: Type.String(), fields: Type.Record(Type.String(), StoredFieldSchema), createdAt: Timestamp, updatedAt: Timestamp },
  { $id: 'VaultModel' },
)
const ModelParams = Type.Object({ space: SpaceId, model: ModelName })
const ModelChangeSchema = Type.Object({
  op: Type.Union(['add', 'drop', 'widen', 'require', 'unrequire', 'index', 'unindex', 'encrypt', 'decrypt'].map((op) => Type.Literal(op))),
  field: Type.String(),
  from: Type.Optional(Type.String({ description: 'The type before (drop, widen)' })),
  type: Type.Optional(Type.String({ description: 'The field type (encrypt, decrypt)' })),
  to: Type.Optional(Type.String({ description: 'The type after (add, widen)' })),
  required: Type.Optional(Type.Boolean()),
  lossy: Type.Boolean({ description: 'Removes stored values: applies only when named in `drop`' }),
  records: Type.Optional(Type.Integer({ description: 'encrypt, decrypt: the records a background job (vault.convert_field) rewrites' })),
})
const ModelChangePlanSchema = Type.Object(
  {
    changes: Type.Array(ModelChangeSchema),
    wouldDrop: Type.Array(Type.String(), { description: 'The fields to name in `drop` to apply this change' }),
    policies: Type.Array(
      Type.Object({ policyId: Type.String(), policyName: Type.String(), field: Type.String(), places: Type.Array(Type.String(), { description: 'e.g. readable, masked, rowFilter, acl.field' }) }),
      { description: 'Access policies naming a dropped field: change them before applying' },
    ),
  },
  { description: 'The dry run: what the change would do, nothing applied' },
)
const admin = { role: 'admin', scope: 'vault:admin' } as const

export function registerModelsRoutes(app: App, { models }: { models: ModelsService }): void {
  app.post('/v1/spaces/:space/vault/models', {
    schema: {
      operationId: 'createVaultModel',
      tags: ['vault'],
      summary: 'Define a model: a table with one typed column per field',
      params: SpaceParams,
      body: Type.Object({ name: ModelName, primaryKey: ModelName, fields: Fields }, { additionalProperties: false }),
      response: { 201: Type.Ref(ModelSchema), ...withConflict },
    },
    config: { access: admin },
    handler: async (request, reply) => reply.code(201).send(await models.create(principalOf(request), request.body)),
  })

  app.get('/v1/spaces/:space/vault/models', {
    schema: { operationId: 'listVaultModels', tags: ['vault'], params: SpaceParams, response: { 200: Type.Object({ models: Type.Array(Type.Ref(ModelSchema)) }), ...authedErrors } },
    config: { access: admin },
    handler: async (request) => ({ models: await models.list(request.params.space) }),
  })

  app.get('/v1/spaces/:space/vault/models/:model', {
    schema: { operationId: 'getVaultModel', tags: ['vault'], params: ModelParams, response: { 200: Type.Ref(ModelSchema), ...authedErrors } },
    config: { access: admin },
    handler: async (request) => models.get(request.params.space, request.params.model),
  })

  app.put('/v1/spaces/:space/vault/models/:model', {
    schema: {
      operationId: 'updateVaultModel',
      tags: ['vault'],
      summary: 'Change the fields; the table is migrated. A drop must be confirmed in `drop`; a change that would lose data otherwise is a 409',
      description:
        'With `?dryRun=true`, nothing changes: the answer is the plan (`changes`, `wouldDrop`, and the access policies naming a dropped field). ' +
        'Without it, a change that drops fields applies only if `drop` names every one of them and no access policy names one (else 409 with `details.drop` and `details.policies`).',
      params: ModelParams,
      querystring: Type.Object({ dryRun: Type.Optional(Type.Boolean({ description: 'Answer the plan without applying it' })) }, { additionalProperties: false }),
      body: Type.Object(
        {
          primaryKey: ModelName,
          fields: Fields,
          drop: Type.Optional(Type.Array(ModelName, { maxItems: MAX_FIELDS, uniqueItems: true, description: 'Every field this change drops, with all its values: the confirmation a drop needs' })),
        },
        { additionalProperties: false },
      ),
      response: {
        200: Type.Union([Type.Ref(ModelSchema), ModelChangePlanSchema]),
        202: Type.Object(
          { model: Type.Ref(ModelSchema), jobs: Type.Array(Type.Ref('VaultJob'), { description: 'One job per field made encrypted or plain; follow each with GET …/vault/jobs/{job}' }) },
          { description: 'Applied; fields made encrypted or plain are converting (`converting` on the field) until their jobs end' },
        ),
        ...withConflict,
      },
    },
    config: { access: admin },
    handler: async (request, reply) => {
      if (request.query.dryRun) return models.plan(principalOf(request), request.params.model, request.body)
      const { model, jobs } = await models.update(principalOf(request), request.params.model, request.body)
      return jobs.length ? reply.code(202).send({ model, jobs }) : model
    },
  })

  app.delete('/v1/spaces/:space/vault/models/:model', {
    schema: { operationId: 'deleteVaultModel', tags: ['vault'], summary: 'Drop the model and all its records', params: ModelParams, response: { 204: Type.Null(), ...authedErrors } },
    config: { access: admin },
    handler: async (request, reply) => {
      await models.delete(principalOf(request), request.params.model)
      return reply.code(204).send(null)
    },
  })
}
