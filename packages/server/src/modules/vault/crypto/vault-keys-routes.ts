import { Type } from '@sinclair/typebox'
import { principalOf } from '../../../http/access.js'
import { SpaceParams, withConflict } from '../../../http/schemas.js'
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
}
