import { Type } from '@sinclair/typebox'
import { authedErrors, Cursor, EntityId, Page, SpaceId, SpaceParams, Timestamp } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import type { JobsService } from './jobs-service.js'
import { JOB_STATES } from './jobs-types.js'

const JobStateSchema = Type.Union(JOB_STATES.map((state) => Type.Literal(state)))

export const JobSchema = Type.Object(
  {
    id: Type.String(),
    space: Type.String(),
    kind: Type.String({ description: 'e.g. reencrypt, reindex' }),
    params: Type.Record(Type.String(), Type.Unknown()),
    state: JobStateSchema,
    done: Type.Integer({ description: 'Units done so far (records, for a re-encryption)' }),
    total: Type.Union([Type.Integer(), Type.Null()], { description: 'All units, when known' }),
    cursor: Type.Union([Type.String(), Type.Null()], { description: 'Where the next batch starts' }),
    error: Type.Union([Type.String(), Type.Null()], { description: 'The last failed batch, if the job is retrying or failed' }),
    createdAt: Timestamp,
    startedAt: Type.Union([Timestamp, Type.Null()]),
    updatedAt: Timestamp,
    finishedAt: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'VaultJob' },
)

const admin = { role: 'admin', scope: 'vault:admin' } as const

export function registerJobsRoutes(app: App, deps: { jobs: JobsService }): void {
  const { jobs } = deps
  app.get('/v1/spaces/:space/vault/jobs', {
    schema: {
      operationId: 'listVaultJobs',
      tags: ['vault'],
      description: 'Background jobs of the vault (re-encryption after a key rotation, re-indexing), newest first.',
      params: SpaceParams,
      querystring: Type.Object(
        {
          state: Type.Optional(JobStateSchema),
          kind: Type.Optional(Type.String({ maxLength: 64 })),
          cursor: Type.Optional(Cursor),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        },
        { additionalProperties: false },
      ),
      response: { 200: Page('jobs', Type.Ref('VaultJob')), ...authedErrors },
    },
    config: { access: admin },
    handler: async (request) =>
      jobs.list(request.params.space, { state: request.query.state ?? null, kind: request.query.kind ?? null, cursor: request.query.cursor ?? null, limit: request.query.limit ?? 50 }),
  })
  app.get('/v1/spaces/:space/vault/jobs/:job', {
    schema: {
      operationId: 'getVaultJob',
      tags: ['vault'],
      description: "A job's state and progress (done of total).",
      params: Type.Object({ space: SpaceId, job: EntityId }),
      response: { 200: Type.Ref('VaultJob'), ...authedErrors },
    },
    config: { access: admin },
    handler: async (request) => jobs.get(request.params.space, request.params.job),
  })
}
