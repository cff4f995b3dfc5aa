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
    leafHash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256 leaf hash of the Merkle tree (leaf seq − 1)' })),
    prevHash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Only events of the hash chain from before the Merkle tree' })),
    hash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Only events of the hash chain from before the Merkle tree' })),
  },
  { $id: 'AuditEvent' },
)

export const PendingAuditEventSchema = Type.Object(
  {
    id: Type.String(),
    space: Type.String(),
    pending: Type.Literal(true),
    time: Timestamp,
    actor: AuditActorSchema,
    event: Type.String(),
    resources: Type.Array(Type.Object({ kind: Type.String(), id: Type.String() })),
    meta: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: 'PendingAuditEvent', description: 'Committed with its change, not yet given its seq by the sequencer' },
)

const Base64Hash = Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$' })

export const AuditCheckpointSchema = Type.Object(
  {
    origin: Type.String({ description: 'The log: `<log name>/spaces/<space id>`' }),
    treeSize: Type.Integer({ minimum: 0 }),
    rootHash: Base64Hash,
    note: Type.String({ description: 'The C2SP tlog-checkpoint signed note; keep a copy outside the database' }),
    keyId: Type.String(),
    time: Timestamp,
  },
  { $id: 'AuditCheckpoint' },
)

const InclusionProofSchema = Type.Object({ leafIndex: Type.Integer({ minimum: 0 }), treeSize: Type.Integer({ minimum: 1 }), hashes: Type.Array(Base64Hash) }, { $id: 'AuditInclusionProof' })
const ConsistencyProofSchema = Type.Object({ from: Type.Integer({ minimum: 0 }), to: Type.Integer({ minimum: 0 }), hashes: Type.Array(Base64Hash) }, { $id: 'AuditConsistencyProof' })
const Size = (description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description })

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
  pending: Type.Integer({ description: 'Events committed but not yet integrated: not checked, and not a failure' }),
  head: Type.Object({ seq: Type.Integer(), hash: Type.String({ description: 'Hex root of the tree the walk rebuilt' }) }),
  firstBroken: Type.Union([Type.Object({ seq: Type.Integer(), reason: Type.String() }), Type.Null()]),
  checkpoints: Type.Array(Type.Object({ seq: Type.Integer(), ok: Type.Boolean(), reason: Type.Optional(Type.String()) }), { description: 'Old JSON checkpoints of the hash chain' }),
  notes: Type.Array(Type.Object({ treeSize: Type.Integer(), ok: Type.Boolean(), reason: Type.Optional(Type.String()) }), {
    description: 'C2SP checkpoints: those given, then the latest ones the database keeps',
  }),
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
      response: {
        200: Type.Object({
          events: Type.Array(Type.Ref(AuditEventSchema)),
          pending: Type.Array(Type.Ref(PendingAuditEventSchema), { description: 'On the first page: matching events not yet integrated, newest first' }),
          nextCursor: Type.Union([Type.String(), Type.Null()]),
        }),
        ...authedErrors,
      },
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
      const pages = audit.export(request.params.space, request.query)
      // One chunk per page of events, not per event: the stream's backpressure still holds (a page
      // is read only when the socket took the last), with a thousandth of the chunks and promises.
      const lines = Readable.from(
        (async function* () {
          for await (const page of pages) yield page.map((event) => `${JSON.stringify(event)}\n`).join('')
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
    schema: { ...verifySchema, operationId: 'verifyAuditChain', summary: 'Walk the log, rebuild its tree, report the first bad event and check the latest stored checkpoints' },
    config: { access: reader },
    handler: async (request) => audit.verify(request.params.space, []),
  })

  app.post('/v1/spaces/:space/audit::verify', {
    schema: {
      ...verifySchema,
      operationId: 'verifyAuditChainAgainstCheckpoints',
      summary: 'Walk the log and check it against signed checkpoints kept outside the database',
      body: Type.Object(
        {
          checkpoints: Type.Optional(Type.Array(Type.Ref(SignedCheckpointSchema), { maxItems: 100, description: 'Old JSON checkpoints of the hash chain' })),
          notes: Type.Optional(Type.Array(Type.String({ maxLength: 20_000 }), { maxItems: 100, description: 'C2SP checkpoint notes' })),
        },
        { additionalProperties: false },
      ),
    },
    config: { access: reader },
    handler: async (request) => audit.verify(request.params.space, request.body.checkpoints ?? [], request.body.notes ?? []),
  })

  app.post('/v1/spaces/:space/audit/checkpoints', {
    schema: {
      operationId: 'createAuditCheckpoint',
      tags: ['audit'],
      summary: 'Integrate every committed event now and sign a checkpoint of the tree (C2SP tlog-checkpoint)',
      params: SpaceParams,
      response: { 201: Type.Ref(AuditCheckpointSchema), ...authedErrors },
    },
    config: { access: { role: 'admin', scope: 'space:admin' } },
    handler: async (request, reply) => reply.code(201).send(await audit.checkpoint(principalOf(request).spaceId)),
  })

  app.get('/v1/spaces/:space/audit/checkpoint', {
    schema: {
      operationId: 'getAuditCheckpoint',
      tags: ['audit'],
      summary: 'The latest signed checkpoint of the space’s log',
      params: SpaceParams,
      response: { 200: Type.Ref(AuditCheckpointSchema), ...authedErrors },
    },
    config: { access: reader },
    handler: async (request) => audit.latestCheckpoint(request.params.space),
  })

  app.get('/v1/spaces/:space/audit/checkpoints', {
    schema: {
      operationId: 'listAuditCheckpoints',
      tags: ['audit'],
      summary: 'Signed checkpoints, largest tree first (copies; the ones that count are kept elsewhere)',
      params: SpaceParams,
      querystring: Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }),
      response: { 200: Type.Object({ checkpoints: Type.Array(Type.Ref(AuditCheckpointSchema)), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...authedErrors },
    },
    config: { access: reader },
    handler: async (request) => audit.listCheckpoints(request.params.space, request.query.cursor, request.query.limit),
  })

  app.get('/v1/spaces/:space/audit/proof/inclusion', {
    schema: {
      operationId: 'getAuditInclusionProof',
      tags: ['audit'],
      summary: 'RFC 6962 inclusion proof of the event with `seq` in the tree of `treeSize` events (take it from a checkpoint you verified)',
      params: SpaceParams,
      querystring: Type.Object({ seq: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), treeSize: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) }),
      response: { 200: Type.Ref(InclusionProofSchema), ...authedErrors },
    },
    config: { access: reader },
    handler: async (request) => audit.inclusionProof(request.params.space, request.query.seq, request.query.treeSize),
  })

  app.get('/v1/spaces/:space/audit/proof/consistency', {
    schema: {
      operationId: 'getAuditConsistencyProof',
      tags: ['audit'],
      summary: 'RFC 6962 consistency proof from the tree of `from` events to the tree of `to` events',
      params: SpaceParams,
      querystring: Type.Object({ from: Size('the older tree size'), to: Size('the newer tree size') }),
      response: { 200: Type.Ref(ConsistencyProofSchema), ...authedErrors },
    },
    config: { access: reader },
    handler: async (request) => audit.consistencyProof(request.params.space, request.query.from, request.query.to),
  })

  app.get('/v1/audit/signing-key', {
    schema: {
      operationId: 'getAuditSigningKey',
      tags: ['audit'],
      summary: 'The public key that checks checkpoint signatures, for verifying offline',
      response: {
        200: Type.Object({
          keyId: Type.String(),
          algorithm: Type.Literal('Ed25519'),
          publicKeyPem: Type.String(),
          verifierKey: Type.String({ description: 'C2SP verifier key (`<name>+<key id>+<base64>`) for the checkpoint notes' }),
          logName: Type.String({ description: 'The note key name; a space’s log (origin) is `<logName>/spaces/<space id>`' }),
        }),
      },
    },
    config: { access: { public: true } },
    handler: async () => audit.signingKey(),
  })
}

export const auditSchemas = [AuditEventSchema, PendingAuditEventSchema, SignedCheckpointSchema, AuditCheckpointSchema, InclusionProofSchema, ConsistencyProofSchema]
