/**
 * One Gatehouse server process of the scale-out scenario and the soak, started by nodes.ts with
 * `node --import tsx`. It opens the store the parent prepared, runs the real app as server.ts does
 * (migrations checked, change feed started) on 127.0.0.1:0, and reports its RSS every second.
 *
 * A process of its own, not an app in the bench process: nodes must not share an event loop, a
 * pool or a change feed, or "another node" would prove nothing; and the RSS must be the server's alone.
 */
import { createPrivateKey } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { buildApp } from '../../packages/server/src/app.js'
import { migrate } from '../../packages/server/src/db/migrate.js'
import { createCheckpointSigner } from '../../packages/server/src/modules/audit/audit-signer.js'
import { openStoreAt, storeKms, type StoreLocation } from './stores.js'

export interface NodeChildConfig {
  location: StoreLocation
  /** The audit signing key every node shares (PKCS#8 PEM), as one deployment's nodes do. */
  signerPem: string
  /** GATEHOUSE_CHANGE_POLL_MS of this node. */
  changePollMs: number
  /** The child exits by itself after this long, whatever happens to the parent. */
  maxSeconds: number
}

export type NodeParentMessage = { type: 'exit' }

export type NodeChildMessage = { type: 'listening'; port: number } | { type: 'rss'; rss: number; heapUsed: number; heapTotal: number; external: number; at: number } | { type: 'failed'; message: string }

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as NodeChildConfig
  const send = (message: NodeChildMessage) => process.send?.(message)
  setTimeout(() => process.exit(3), config.maxSeconds * 1000).unref()
  process.on('disconnect', () => process.exit(0))

  const db = await openStoreAt(config.location)
  const built = await buildApp({
    db,
    signer: createCheckpointSigner(createPrivateKey(config.signerPem)),
    kms: storeKms(config.location),
    outboundAllow: ['127.0.0.1/32'],
    changeFeed: { pollIntervalMs: config.changePollMs },
  })
  // As server.ts starts: the store is migrated and bootstrapped already, so this only checks.
  await migrate(db, (conn) => built.services.spaces.bootstrapIfEmpty(conn))
  await built.changes.start()
  await built.app.listen({ host: '127.0.0.1', port: 0 })

  // The V8 heap beside the RSS: a leak of JavaScript objects lifts the heap's floor, while the allocator
  // or PGlite's WebAssembly memory can move the RSS alone.
  const sampler = setInterval(() => {
    const usage = process.memoryUsage()
    send({ type: 'rss', rss: usage.rss, heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external, at: Date.now() })
  }, 1000)
  process.on('message', (message: NodeParentMessage) => {
    if (message.type !== 'exit') return
    clearInterval(sampler)
    void (async () => {
      await built.app.close()
      await db.close()
      process.exit(0)
    })().catch(() => process.exit(1))
  })
  send({ type: 'listening', port: (built.app.server.address() as AddressInfo).port })
}

main().catch((error: unknown) => {
  process.send?.({ type: 'failed', message: (error as Error).stack ?? String(error) } satisfies NodeChildMessage)
  process.exit(1)
})
