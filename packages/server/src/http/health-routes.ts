import { Type } from '@sinclair/typebox'
import type { Db } from '../db/db.js'
import { AppError } from './errors.js'
import type { App } from './types.js'

export interface Lifecycle {
  /** Until migrations have run: the port is bound (so a taken port fails before any write) but nothing is served. */
  starting: boolean
  /** Set when SIGTERM arrives: readiness fails so load balancers stop sending traffic. */
  draining: boolean
}

export function registerHealthRoutes(app: App, { db, lifecycle }: { db: Db; lifecycle: Lifecycle }): void {
  app.get('/healthz', {
    schema: { operationId: 'health', tags: ['health'], summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    config: { access: { public: true } },
    handler: async () => ({ status: 'ok' as const }),
  })

  app.get('/readyz', {
    schema: {
      operationId: 'ready',
      tags: ['health'],
      summary: 'The process can serve: the database answers and it is not shutting down',
      response: { 200: Type.Object({ status: Type.Literal('ready'), store: Type.String() }), 503: Type.Ref('ErrorEnvelope') },
    },
    config: { access: { public: true } },
    handler: async () => {
      if (lifecycle.starting) throw new AppError('unavailable', 'starting: migrations are running')
      if (lifecycle.draining) throw new AppError('unavailable', 'shutting down')
      try {
        await db.query('SELECT 1')
      } catch {
        throw new AppError('unavailable', 'the database does not answer')
      }
      return { status: 'ready' as const, store: db.kind }
    },
  })
}
