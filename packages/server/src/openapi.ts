import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { buildApp } from './app.js'
import type { Db } from './db/db.js'
import { createCheckpointSigner } from './modules/audit/audit-signer.js'
import { createLocalKms } from './modules/keys/index.js'

const unusable = (): never => {
  throw new Error('the OpenAPI document is built without a database')
}

/** The OpenAPI document, built from the route schemas alone: no database, no listening. */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const db: Db = { kind: 'pglite', query: unusable, transaction: unusable, withAdvisoryLock: unusable, close: async () => undefined }
  const { app } = await buildApp({ db, signer: createCheckpointSigner(generateKeyPairSync('ed25519').privateKey), kms: createLocalKms(randomBytes(32)) })
  try {
    return app.swagger() as unknown as Record<string, unknown>
  } finally {
    await app.close()
  }
}
