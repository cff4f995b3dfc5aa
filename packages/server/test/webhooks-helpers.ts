import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Db } from '../src/db/db.js'
import { createWebhookWorker, createWebhooksStore } from '../src/modules/webhooks/index.js'
import type { WebhookWorkerDeps } from '../src/modules/webhooks/webhooks-delivery.js'
import type { Harness } from './harness.js'

/** The spec's eight attempts, in milliseconds instead of hours, so a test sees them all. */
export const MS_SCHEDULE = [0, 10, 10, 10, 10, 10, 10, 10]

export interface Received {
  path: string
  headers: Record<string, string>
  body: string
}

export interface Answer {
  status: number
  headers?: Record<string, string>
  delayMs?: number
}

export type Responder = (request: Received, index: number) => Answer

/** A real HTTP receiver on 127.0.0.1 and a free port; it records every request it gets. */
export async function startReceiver(respond: Responder = () => ({ status: 200 })) {
  const received: Received[] = []
  let responder = respond
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value
      const request = { path: req.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8') }
      received.push(request)
      const answer = responder(request, received.length - 1)
      setTimeout(() => res.writeHead(answer.status, answer.headers ?? {}).end(), answer.delayMs ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    received,
    respond(next: Responder) {
      responder = next
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>

/** A worker of its own on the harness's database, with a movable clock and a millisecond schedule. */
export function testWorker(h: Harness, options: Partial<WebhookWorkerDeps> & { db?: Db } = {}) {
  let offsetMs = 0
  const worker = createWebhookWorker({
    db: h.db,
    store: createWebhooksStore(),
    audit: h.built.services.audit,
    clock: () => new Date(Date.now() + offsetMs),
    schedule: MS_SCHEDULE,
    timeoutMs: 5000,
    outbound: h.built.outbound,
    secrets: h.built.services.keys,
    ...options,
  })
  return Object.assign(worker, {
    advance(ms: number) {
      offsetMs += ms
    },
  })
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls until `done` holds; bounded, so a broken worker fails the test instead of hanging it. */
export async function runUntil(worker: { runOnce(): Promise<number> }, done: () => Promise<boolean> | boolean, maxRounds = 300): Promise<void> {
  for (let round = 0; round < maxRounds; round++) {
    await worker.runOnce()
    if (await done()) return
    await sleep(5)
  }
  throw new Error(`not done after ${maxRounds} rounds`)
}

/** A space of its own per test, so one test's endpoints never receive another's events. */
export async function freshSpace(h: Harness): Promise<{ space: string; token: string }> {
  const space = `wh-${randomBytes(4).toString('hex')}`
  return { space, token: await h.createSpace(space) }
}

export async function createEndpoint(h: Harness, space: string, token: string, body: Record<string, unknown>) {
  const created = await h.request('POST', `/v1/spaces/${space}/webhooks`, { token, body })
  if (created.status !== 201) throw new Error(`create endpoint: ${created.status} ${created.text}`)
  return created.body as { id: string; secret: string; url: string; events: string[] }
}

export const enqueue = (h: Harness, space: string, type: string, data: Record<string, unknown> = {}) =>
  h.db.transaction((tx) => h.built.services.webhooks.enqueue(tx, space, { type, data }))

export async function deliveriesOf(h: Harness, space: string, token: string, endpointId: string) {
  const page = await h.request('GET', `/v1/spaces/${space}/webhooks/${endpointId}/deliveries?limit=200`, { token })
  if (page.status !== 200) throw new Error(`list deliveries: ${page.status} ${page.text}`)
  return page.body.deliveries as Array<{ id: string; messageId: string; state: string; attemptCount: number; eventType: string }>
}
