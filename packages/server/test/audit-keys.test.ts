import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readConfig } from '../src/config.js'
import { createLogger } from '../src/logger.js'
import { startServer, type RunningServer } from '../src/server.js'
import { STORE } from './harness.js'
import { processHarness } from './process-harness.js'

const { tempDir, storeEnv } = processHarness('gatehouse-keys-')

const start = (env: Record<string, string>) => startServer(readConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' }), createLogger('silent'))

async function call(server: RunningServer, token: string, method: 'GET' | 'POST', url: string, body?: object) {
  const response = await server.built.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body ? { payload: body } : {}) })
  return { status: response.statusCode, body: response.json() as any }
}

/** Starts on `env`, signs a checkpoint of the default space, stops; answers the checkpoint. */
async function checkpointWith(env: Record<string, string>, token?: string) {
  const server = await start(env)
  try {
    const admin = token ?? server.bootstrap!.adminToken.token
    const checkpoint = await call(server, admin, 'POST', '/v1/spaces/default/audit/checkpoints')
    expect(checkpoint.status).toBe(201)
    return { admin, checkpoint: checkpoint.body }
  } finally {
    await server.close()
  }
}

describe(`the audit checkpoint key on ${STORE}`, () => {
  it('refuses to start with another key, or with no key file, naming the key the database expects and the file; it never makes a second key', async () => {
    const store = await storeEnv()
    const keys = tempDir()
    const first = await checkpointWith({ ...store, GATEHOUSE_AUDIT_KEY_FILE: join(keys, 'a.pem') })
    const expected = first.checkpoint.keyId as string

    const missing = join(keys, 'missing.pem')
    const refusal = await start({ ...store, GATEHOUSE_AUDIT_KEY_FILE: missing }).then(
      (server) => server.close().then(() => 'started'),
      (error: Error) => error.message,
    )
    expect(refusal).toContain(`signed with key id ${expected}`)
    expect(refusal).toContain(`there is no key file at ${missing}`)
    expect(existsSync(missing)).toBe(false)

    // The same key file starts again, and its checkpoints verify.
    const again = await start({ ...store, GATEHOUSE_AUDIT_KEY_FILE: join(keys, 'a.pem') })
    try {
      const verified = await call(again, first.admin, 'POST', '/v1/spaces/default/audit:verify', { notes: [first.checkpoint.note] })
      expect(verified.body.ok).toBe(true)
      expect(verified.body.notes[0]).toEqual({ treeSize: first.checkpoint.treeSize, ok: true })
    } finally {
      await again.close()
    }
  })

  it('rotates when told which key it replaces: old checkpoints still verify, and the retired key is refused afterwards', async () => {
    const store = await storeEnv()
    const keys = tempDir()
    const old = await checkpointWith({ ...store, GATEHOUSE_AUDIT_KEY_FILE: join(keys, 'old.pem') })
    const oldId = old.checkpoint.keyId as string

    const rotatedEnv = { ...store, GATEHOUSE_AUDIT_KEY_FILE: join(keys, 'new.pem'), GATEHOUSE_AUDIT_KEY_ROTATE_FROM: oldId }
    const fresh = await checkpointWith(rotatedEnv, old.admin)
    expect(fresh.checkpoint.keyId).not.toBe(oldId)
    expect(existsSync(join(keys, 'new.pem'))).toBe(true)

    // Later starts with the new key need no rotation setting.
    const server = await start({ ...store, GATEHOUSE_AUDIT_KEY_FILE: join(keys, 'new.pem') })
    try {
      // C2SP checkpoints (audit log notes, migration 0007) signed by the retired key verify with its kept public key.
      const verified = await call(server, old.admin, 'POST', '/v1/spaces/default/audit:verify', { notes: [old.checkpoint.note, fresh.checkpoint.note] })
      expect(verified.body.notes.slice(0, 2)).toEqual([
        { treeSize: old.checkpoint.treeSize, ok: true },
        { treeSize: fresh.checkpoint.treeSize, ok: true },
      ])
      const lines = old.checkpoint.note.split('\n')
      lines[2] = Buffer.alloc(32, 2).toString('base64')
      const forged = await call(server, old.admin, 'POST', '/v1/spaces/default/audit:verify', { notes: [lines.join('\n')] })
      expect(forged.body.notes[0].reason).toContain('checkpoint refused')
    } finally {
      await server.close()
    }

    const refusal = await start({ ...store, GATEHOUSE_AUDIT_KEY_FILE: join(keys, 'old.pem') }).then(
      (running) => running.close().then(() => 'started'),
      (error: Error) => error.message,
    )
    expect(refusal).toContain(`signed with key id ${fresh.checkpoint.keyId}, but ${join(keys, 'old.pem')} holds key id ${oldId}`)
  })
})
