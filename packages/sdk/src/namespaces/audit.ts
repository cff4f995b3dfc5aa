import type { BodyOf, QueryOf } from '../call.js'
import { fillPath } from '../call.js'
import type { operations } from '../generated/api.js'
import { routes } from '../generated/routes.js'
import type { Request } from '../transport.js'
import type { Call } from './call-type.js'

export type ExportedAuditEvent = operations['exportAuditEvents']['responses'][200]['content']['application/x-ndjson']
export type AuditExportQuery = QueryOf<'exportAuditEvents'>

/**
 * Every matching event, oldest first, one at a time as the server streams them (NDJSON): memory
 * holds one chunk, not the export. Breaking out of the loop closes the connection.
 */
export async function* exportAuditEvents(request: Request, space: string, query: AuditExportQuery = {}, options: { timeout?: number } = {}): AsyncGenerator<ExportedAuditEvent> {
  const route = routes.exportAuditEvents
  const response = await request.send(route.method, fillPath(route.path, { space }), {
    query: query as Record<string, string | undefined>,
    headers: { accept: 'application/x-ndjson' },
    stream: true,
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
  })
  if (!response.body) return
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  let finished = false
  try {
    for (;;) {
      const { done, value } = await reader.read()
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true })
      let newline: number
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        if (line.trim()) yield JSON.parse(line) as ExportedAuditEvent
      }
      if (done) break
    }
    if (buffer.trim()) yield JSON.parse(buffer) as ExportedAuditEvent
    finished = true
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
}

export const auditNamespace = (call: Call, context: () => { request: Request; space: string }) => ({
  /** One page, newest first: `{ events, nextCursor }`. */
  list: (query: QueryOf<'listAuditEvents'> = {}) => call('listAuditEvents', { query }),
  /** An async iterator: `for await (const event of client.audit.export({ from }))`. */
  export: (query: AuditExportQuery = {}, options: { timeout?: number } = {}) => exportAuditEvents(context().request, context().space, query, options),
  verify: () => call('verifyAuditChain'),
  /** Checks the chain against signed checkpoints you kept outside the database. */
  verifyAgainstCheckpoints: (checkpoints: BodyOf<'verifyAuditChainAgainstCheckpoints'>['checkpoints']) =>
    call('verifyAuditChainAgainstCheckpoints', { body: { checkpoints } }),
  signingKey: () => call('getAuditSigningKey'),
  createCheckpoint: () => call('createAuditCheckpoint'),
  listCheckpoints: (query: QueryOf<'listAuditCheckpoints'> = {}) => call('listAuditCheckpoints', { query }),
})
