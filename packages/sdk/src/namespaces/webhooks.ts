import type { BodyOf, QueryOf } from '../call.js'
import type { Call } from './call-type.js'

export const webhookNamespace = (call: Call) => ({
  list: (query: QueryOf<'listWebhookEndpoints'> = {}) => call('listWebhookEndpoints', { query }),
  get: (endpointId: string) => call('getWebhookEndpoint', { path: { endpointId } }),
  /** The answer carries the signing secret, shown only this once. */
  create: (body: BodyOf<'createWebhookEndpoint'>) => call('createWebhookEndpoint', { body }),
  update: (endpointId: string, patch: BodyOf<'updateWebhookEndpoint'>) => call('updateWebhookEndpoint', { path: { endpointId }, body: patch }),
  delete: (endpointId: string) => call('deleteWebhookEndpoint', { path: { endpointId } }),
  rotateSecret: (endpointId: string, body: BodyOf<'rotateWebhookSecret'> = {}) => call('rotateWebhookSecret', { path: { endpointId }, body }),
  listDeliveries: (endpointId: string, query: QueryOf<'listWebhookDeliveries'> = {}) => call('listWebhookDeliveries', { path: { endpointId }, query }),
  getDelivery: (endpointId: string, deliveryId: string) => call('getWebhookDelivery', { path: { endpointId, deliveryId } }),
  redeliver: (endpointId: string, deliveryId: string) => call('redeliverWebhook', { path: { endpointId, deliveryId } }),
})
