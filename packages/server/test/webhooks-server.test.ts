import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { readConfig } from '../src/config.js'
import { createLogger } from '../src/logger.js'
import { startServer } from '../src/server.js'
import { openTestDb, STORE } from './harness.js'
import { sleep, startReceiver } from './webhooks-helpers.js'

describe(`the server process's webhook worker on ${STORE}`, () => {
  it('starts after migrations, sends on a nudge after commit, and stops before the database closes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-webhooks-'))
    const testDb = STORE === 'postgres' ? await openTestDb() : null
    await testDb?.db.close()
    const rx = await startReceiver()
    try {
      const env = { GATEHOUSE_DATA_DIR: dataDir, PORT: '0', GATEHOUSE_OUTBOUND_ALLOW: '127.0.0.1/32', ...(testDb ? { DATABASE_URL: testDb.url! } : {}) }
      const server = await startServer(readConfig(env), createLogger('silent'))
      try {
        const token = server.bootstrap!.adminToken.token
        const created = await fetch(`${server.url}/v1/spaces/default/webhooks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url: rx.url() }),
        })
        expect(created.status).toBe(201)
        const { secret } = (await created.json()) as { secret: string }
        const { webhooks } = server.built.services
        await server.db.transaction((tx) => webhooks.enqueue(tx, 'default', { type: 'access/grant', data: { requestId: 'req_1' } }))
        webhooks.notify()
        for (let waited = 0; waited < 10_000 && rx.received.length === 0; waited += 20) await sleep(20)
        expect(rx.received).toHaveLength(1)
        expect(new Webhook(secret).verify(rx.received[0]!.body, rx.received[0]!.headers)).toMatchObject({ type: 'access/grant' })
      } finally {
        await server.close()
      }
    } finally {
      await rx.close()
      await testDb?.drop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
