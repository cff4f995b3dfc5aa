import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net'
import { expect } from 'vitest'
import type { Harness } from './harness.js'

const listen = async <T extends HttpServer | TcpServer>(server: T): Promise<{ server: T; port: number }> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

const stop = (server: HttpServer | TcpServer) =>
  new Promise<void>((resolve) => {
    if ('closeAllConnections' in server) server.closeAllConnections()
    server.close(() => resolve())
  })

/** A port on 127.0.0.1 where nothing listens any more: connection refused. */
export async function closedPort(): Promise<number> {
  const { server, port } = await listen(createTcpServer())
  await stop(server)
  return port
}

/**
 * Local listeners that are not HTTP servers, the kind a port scan finds: one greets like SSH (or
 * a database) and hangs up, one resets every connection.
 */
export async function nonHttpListeners() {
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  }
  const greeting = await listen(
    createTcpServer((socket) => {
      track(socket)
      socket.end('SSH-2.0-OpenSSH_9.6\r\n')
    }),
  )
  const reset = await listen(createTcpServer((socket) => socket.resetAndDestroy()))
  return {
    greetingPort: greeting.port,
    resetPort: reset.port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await Promise.all([stop(greeting.server), stop(reset.server)])
    },
  }
}

/**
 * An HTTP endpoint whose answer never ends: `prefix`, then 64 KiB chunks for as long as the socket
 * stays open (at most 1 GiB, so a client that reads everything still ends). It records how much
 * it wrote before its socket closed.
 */
export async function endlessEndpoint(prefix: string) {
  const state = { calls: 0, written: 0, closed: false, close: async () => undefined as void }
  const chunk = Buffer.alloc(64 * 1024, 'a')
  const { server, port } = await listen(
    createHttpServer((req, res) => {
      req.resume()
      req.on('end', () => {
        state.calls += 1
        res.writeHead(200, { 'content-type': 'application/json' })
        res.write(prefix)
        const pump = () => {
          while (!res.destroyed && state.written < 1024 ** 3) {
            state.written += chunk.length
            if (!res.write(chunk)) return void res.once('drain', pump)
          }
          if (!res.destroyed) res.end()
        }
        res.on('close', () => {
          state.closed = true
        })
        pump()
      })
    }),
  )
  state.close = () => stop(server)
  return Object.assign(state, { url: (path = '/') => `http://127.0.0.1:${port}${path}` })
}

/** A delegate policy (`policies` route) for the labels given; returns its id. */
export async function delegatePolicy(h: Harness, name: string, url: string, plan: string, timeoutMs = 2000): Promise<string> {
  const created = await h.request('POST', '/v1/spaces/default/policies', {
    token: h.adminToken,
    body: { name, priority: 1, match: { resourceKinds: ['customer'], labels: { plan } }, decision: { type: 'delegate', url, timeoutMs } },
  })
  expect(created.status, created.text).toBe(201)
  return created.body.id as string
}

/** Asks for access to `customer` (created with the label `plan`); returns the outcome and the delegate's fallback reason, if any. */
export async function askThroughDelegate(h: Harness, customer: string, plan: string) {
  const resources = [{ kind: 'customer', id: customer, displayName: customer, labels: { plan } }]
  expect((await h.request('POST', '/v1/spaces/default/resources:bulkUpdate', { token: h.adminToken, body: { resources } })).status).toBe(200)
  const outcome = await h.request('POST', '/v1/spaces/default/approvals', {
    token: h.adminToken,
    body: { petitioners: [{ kind: 'user', id: `u_${customer}`, email: `${customer}@example.com` }], resources: [{ kind: 'customer', id: customer }] },
  })
  const fellBack = await h.request('GET', `/v1/spaces/default/audit?event=access/delegate_review&resourceId=${customer}`, { token: h.adminToken })
  return { status: outcome.body.status as string, text: outcome.text, why: fellBack.body.events[0]?.meta?.why as string | undefined, actor: fellBack.body.events[0]?.actor }
}
