import { Type } from '@sinclair/typebox'
import { principalOf } from '../../../http/access.js'
import { SpaceId, SpaceParams, withConflict } from '../../../http/schemas.js'
import type { App } from '../../../http/types.js'
import type { VaultKeysService } from './vault-keys-service.js'

export function registerVaultKeysRoutes(app: App, { vaultKeys }: { vaultKeys: VaultKeysService }): void {
  app.post('/v1/spaces/:space/vault/keys/data/rotate', {
    schema: {
      operationId: 'rotateVaultDataKey',
      tags: ['vault'],
      summary: "Rotate the space's data key: new writes use the new version at once; a background job re-encrypts every record, then retires the old version",
      description: 'Follow the job with GET …/vault/jobs/{job}. Reads and finds keep working throughout (either version opens a record until the job ends).',
      params: SpaceParams,
      response: { 202: Type.Object({ version: Type.Integer(), job: Type.Ref('VaultJob') }), ...withConflict },
    },
    config: { access: { role: 'admin', scope: 'vault:admin' } },
    handler: async (request, reply) => reply.code(202).send(await vaultKeys.rotateDataKey(principalOf(request))),
  })

  const Name = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' })
  app.post('/v1/spaces/:space/vault/models/:model/fields/:field/index-key/rotate', {
    schema: {
      operationId: 'rotateVaultIndexKey',
      tags: ['vault'],
      summary: "Rotate an equality-searchable field's index key: a background job re-indexes every record, finds search both versions until it ends",
      params: Type.Object({ space: SpaceId, model: Name, field: Name }),
      response: { 202: Type.Object({ version: Type.Integer(), job: Type.Ref('VaultJob') }), ...withConflict },
    },
    config: { access: { role: 'admin', scope: 'vault:admin' } },
    handler: async (request, reply) => reply.code(202).send(await vaultKeys.rotateIndexKey(principalOf(request), request.params.model, request.params.field)),
  })
}
