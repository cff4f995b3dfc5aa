import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import type { OutboundClient } from '../../lib/outbound/index.js'
import type { AuditService } from '../audit/audit-service.js'
import type { SecretSealer } from '../keys/keys-types.js'
import { createWebhookWorker, type WebhookWorkerDeps } from './webhooks-delivery.js'
import { registerWebhooksRoutes } from './webhooks-routes.js'
import { createWebhooksService } from './webhooks-service.js'
import { createWebhooksStore } from './webhooks-store.js'

export { createWebhookWorker } from './webhooks-delivery.js'
export { createWebhooksStore } from './webhooks-store.js'

/**
 * The worker is created here but not started: the server starts it once migrations are applied,
 * and tests drive their own workers with `runOnce`.
 */
export function createWebhooksModule(
  deps: { db: Db; audit: Pick<AuditService, 'append'>; clock: () => Date; outbound: OutboundClient; secrets: SecretSealer } & Partial<Omit<WebhookWorkerDeps, 'db' | 'store' | 'audit' | 'clock' | 'outbound' | 'secrets'>>,
) {
  const { db, audit, clock, outbound, secrets, ...workerOptions } = deps
  const store = createWebhooksStore()
  const worker = createWebhookWorker({ ...workerOptions, db, store, audit, clock, outbound, secrets })
  const service = createWebhooksService({ db, store, audit, clock, notify: () => worker.notify(), outboundPolicy: outbound.policy, secrets })
  secrets.registerSecretHolder({ name: 'webhook signing secrets', resealAll: (q, reseal) => store.resealSecrets(q, reseal) })
  return { store, service, worker, register: (app: App) => registerWebhooksRoutes(app, { webhooks: service }) }
}
