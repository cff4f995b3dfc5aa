import type { AddressInfo } from 'node:net'
import { createHarness, type Harness } from '../../server/test/harness.js'

/** The server harness on a real port: the SDK talks HTTP to it like any client. */
export async function listeningHarness(): Promise<Harness & { url: string }> {
  const h = await createHarness()
  await h.built.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = h.built.app.server.address() as AddressInfo
  return Object.assign(h, { url: `http://127.0.0.1:${port}` })
}

export async function serviceAccountToken(h: Harness, scopes: string[], role = 'admin'): Promise<string> {
  const account = await h.request('POST', '/v1/spaces/default/service-accounts', { token: h.adminToken, body: { name: `sa-${Math.random().toString(36).slice(2)}`, role } })
  const issued = await h.request('POST', `/v1/spaces/default/service-accounts/${account.body.id}/tokens`, { token: h.adminToken, body: { name: 'test', scopes } })
  return issued.body.token
}
