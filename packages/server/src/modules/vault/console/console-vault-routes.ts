import { Type } from '@sinclair/typebox'
import { principalOf } from '../../../http/access.js'
import { AppError } from '../../../http/errors.js'
import { authedErrors, EntityId, SpaceId, Timestamp } from '../../../http/schemas.js'
import type { App } from '../../../http/types.js'
import { FindBody } from '../records/records-routes.js'
import type { ConsoleVaultService } from './console-vault-service.js'

const ConsoleVaultSchema = Type.Object(
  {
    client: Type.Union([Type.Object({ id: Type.String(), clientId: Type.String(), name: Type.String(), policyId: Type.String() }), Type.Null()]),
    models: Type.Array(
      Type.Object({
        name: Type.String(),
        primaryKey: Type.String(),
        resourceKind: Type.String(),
        grantField: Type.String(),
        fields: Type.Array(Type.Object({ name: Type.String(), type: Type.String(), mask: Type.Union([Type.String(), Type.Null()]) })),
      }),
    ),
  },
  { $id: 'ConsoleVault' },
)
const RowGrantSchema = Type.Object({ grantId: Type.String(), petitionId: Type.String(), resourceId: Type.String(), expiresAt: Timestamp })
const ConsoleFindResultSchema = Type.Object(
  {
    data: Type.Array(
      Type.Object({
        record: Type.Record(Type.String(), Type.Unknown(), { description: 'As the data plane answers it: readable fields only, masked ones masked' }),
        grant: Type.Union([RowGrantSchema, Type.Null()], { description: 'The grant that opened this row' }),
      }),
    ),
    meta: Type.Object({ total: Type.Integer(), count: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }),
  },
  { $id: 'ConsoleFindResult' },
)
export const consoleVaultSchemas = [ConsoleVaultSchema, ConsoleFindResultSchema]

const errors = { ...authedErrors, 502: Type.Ref('ErrorEnvelope'), 504: Type.Ref('ErrorEnvelope') }
const signedIn = { role: 'member', scope: 'space:read' } as const

/**
 * The console's vault explorer. The browser holds no vault client secret: the server reads through
 * the client an admin designated, with the caller's own user token (session cookie or bearer) as
 * x-client-auth, so the grants join and the audit are the data plane's own.
 */
export function registerConsoleVaultRoutes(app: App, { consoleVault }: { consoleVault: ConsoleVaultService }): void {
  app.get('/v1/spaces/:space/vault/console', {
    schema: {
      operationId: 'getConsoleVault',
      tags: ['vault console'],
      summary: "The vault client the console reads through, and the models it may show (those whose rows open by grants)",
      params: Type.Object({ space: SpaceId }),
      response: { 200: Type.Ref(ConsoleVaultSchema), ...authedErrors },
    },
    config: { access: signedIn },
    handler: async (request) => consoleVault.status(request.params.space),
  })

  app.put('/v1/spaces/:space/vault/console', {
    schema: {
      operationId: 'setConsoleVaultClient',
      tags: ['vault console'],
      summary: 'Designate the vault client (by id, vcl_…) the console reads through; null for none',
      params: Type.Object({ space: SpaceId }),
      body: Type.Object({ clientId: Type.Union([EntityId, Type.Null()]) }, { additionalProperties: false }),
      response: { 200: Type.Ref(ConsoleVaultSchema), ...authedErrors },
    },
    config: { access: { role: 'admin', scope: 'vault:admin' } },
    handler: async (request) => consoleVault.designate(principalOf(request), request.body.clientId),
  })

  app.post('/v1/spaces/:space/vault/console/models/:model/find', {
    schema: {
      operationId: 'consoleFindRecords',
      tags: ['vault console'],
      summary: "Find records as the data plane does, through the console's vault client, as the signed-in person; each row with the grant that opened it",
      params: Type.Object({ space: SpaceId, model: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }) }),
      body: FindBody,
      response: { 200: Type.Ref(ConsoleFindResultSchema), ...errors },
    },
    config: { access: signedIn },
    handler: async (request) => {
      const principal = principalOf(request)
      if (!request.callerToken) throw new AppError('unauthenticated', 'this route needs your user token (session cookie or bearer)')
      return consoleVault.find(principal, request.callerToken, request.params.model, request.body ?? {})
    },
  })
}
