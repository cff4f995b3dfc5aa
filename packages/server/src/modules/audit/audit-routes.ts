import { Readable } from 'node:stream'
import { Type } from '@sinclair/typebox'
import { principalOf } from '../../http/access.js'
import { authedErrors, Cursor, SpaceParams, Timestamp } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import type { AuditService } from './audit-service.js'

const Hash = Type.String({ pattern: '^[0-9a-f]{64}$' })

const AuditActorSchema = Type.Object({
  kind: Type.Union([Type.Literal('user'), Type.Literal('service_account'), Type.Literal('vault_client'), Type.Literal('system'), Type.Literal('anonymous')]),
  id: Type.String(),
  display: Type.Optional(Type.String()),
  tokenId: Type.Optional(Type.String()),
})

export const AuditEventSchema = Type.Object(
  {
    id: Type.String(),
    space: Type.String(),
    seq: Type.Integer({ minimum: 1 }),
    time: Timestamp,
    actor: AuditActorSchema,
    event: Type.String(),
    resources: Type.Array(Type.Object({ kind: Type.String(), id: Type.String() })),
    meta: Type.Record(Type.String(), Type.Unknown()),
    prevHash: Hash,
    hash: Hash,
  },
  { $id: 'AuditEvent' },
)

const SignedCheckpointSchema = Type.Object(
  {
    space: Type.String({ maxLength: 64 }),
    seq: Type.Integer({ minimum: 0 }),
    hash: Hash,
    time: Timestamp,
    keyId: Type.String({ maxLength: 64 }),
    signature: Type.String({ maxLength: 200 }),
  },
  { $id: 'SignedCheckpoint', additionalProperties: false },
)

const Filter = {
  from: Type.Optional(Timestamp),
  to: Type.Optional(Timestamp),
  actor: Type.Optional(Type.String({ maxLength: 200, description: 'Actor id: a user, service account or `gatehouse`' })),
  event: Type.Optional(Type.String({ maxLength: 100, description: 'Exact event name, e.g. `token/revoke`' })),
  resourceKind: Type.Optional(Type.String({ maxLength: 100 })),
  resourceId: Type.Optional(Type.String({ maxLength: 200 })),
}

const VerifyReportSchema = Type.Object({
  ok: Type.Boolean(),
  space: Type.String(),
  checkedEvents: Type.Integer(),
  head: Type.Object({ seq: Type.Integer(), hash: Hash }),
  firstBroken: Type.Union([Type.Object({ seq: Type.Integer(), reason: Type.String() }), Type.Null()]),
  checkpoints: Type.Array(Type.Object({ seq: Type.Integer(), ok: Type.Boolean(), reason: Type.Optional(Type.String()) })),
})

const reader = { role: 'reviewer', scope: 'audit:read' } as const

export function registerAuditRoutes(app: App, { audit }: { audit: AuditService }): void {
  app.get('/v1/spaces/:space/audit', {
    schema: {
      operationId: 'listAuditEvents',
      tags: ['audit'],
      summary: 'Audit events, newest first, filtered and paged with a cursor',
      params: SpaceParams,
      querystring: Type.Object({ ...Filter, cursor: Type.Optional(Cursor), limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
      response: { 200: Type.Object({ events: Type.Array(Type.Ref(AuditEventSchema)), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...authedErrors },
    },
    config: { access: reader },
    handler: async (request) => {
      const { cursor, limit, ...filter } = request.query
      return audit.list(request.params.space, filter, cursor, limit)
    },
  })

  app.get('/v1/spaces/:space/audit::export', {
    schema: {
      operationId: 'exportAuditEvents',
      tags: ['audit'],
      summary: 'Every matching event, oldest first, streamed as NDJSON (one JSON event per line)',
      params: SpaceParams,
      querystring: Type.Object(Filter),
      response: {
        200: { description: 'One event per line', content: { 'application/x-ndjson': { schema: Type.Ref(AuditEventSchema) } } },
        ...authedErrors,
      },
    },
    config: { access: reader },
    handler: async (request, reply) => {
      const events = audit.export(request.params.space, request.query)
      const lines = Readable.from(
        (async function* () {
          for await (const event of events) yield `${JSON.stringify(event)}\n`
        })(),
      )
      return reply.type('application/x-ndjson').header('content-disposition', `attachment; filename="audit-${request.params.space}.ndjson"`).send(lines)
    },
  })

  const verifySchema = {
    tags: ['audit'],
    params: SpaceParams,
    response: { 200: VerifyReportSchema, ...authedErrors },
  }

  app.get('/v1/spaces/:space/audit::verify', {
    schema: { ...verifySchema, operationId: 'verifyAuditChain', summary: 'Walk the hash chain and report the first broken link' },
    config: { access: reader },
    handler: async (request) => audit.verify(request.params.space, []),
  })

  app.post('/v1/spaces/:space/audit::verify', {
    schema: {
      ...verifySchema,
      operationId: 'verifyAuditChainAgainstCheckpoints',
      summary: 'Walk the hash chain and check it against signed checkpoints kept outside the database',
      body: Type.Object({ checkpoints: Type.Array(Type.Ref(SignedCheckpointSchema), { maxItems: 100 }) }, { additionalProperties: false }),
    },
    config: { access: reader },
    handler: async (request) => audit.verify(request.params.space, request.body.checkpoints),
  })

  app.post('/v1/spaces/:space/audit/checkpoints', {
    schema: {
      operationId: 'createAuditCheckpoint',
      tags: ['audit'],
      summary: 'Sign the current head of the chain; keep the answer somewhere the database admin cannot write',
      params: SpaceParams,
      response: { 201: Type.Ref(SignedCheckpointSchema), ...authedErrors },
    },
    config: { access: { role: 'admin', scope: 'space:admin' } },
    handler: async (request, reply) => reply.code(201).send(await audit.checkpoint(principalOf(request).spaceId)),
  })

  app.get('/v1/spaces/:space/audit/checkpoints', {
    schema: {
      operationId: 'listAuditCheckpoints',
      tags: ['audit'],
      summary: 'The latest signed checkpoints (copies; the ones that count are kept elsewhere)',
      params: SpaceParams,
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
      response: { 200: Type.Object({ checkpoints: Type.Array(Type.Ref(SignedCheckpointSchema)) }), ...authedErrors },
    },
    config: { access: reader },
    handler: async (request) => ({ checkpoints: await audit.listCheckpoints(request.params.space, request.query.limit) }),
  })

  app.get('/v1/audit/signing-key', {
    schema: {
      operationId: 'getAuditSigningKey',
      tags: ['audit'],
      summary: 'The public key that checks checkpoint signatures, for verifying offline',
      response: { 200: Type.Object({ keyId: Type.String(), algorithm: Type.Literal('Ed25519'), publicKeyPem: Type.String() }) },
    },
    config: { access: { public: true } },
    handler: async () => audit.signingKey(),
  })
}

export const auditSchemas = [AuditEventSchema, SignedCheckpointSchema]
