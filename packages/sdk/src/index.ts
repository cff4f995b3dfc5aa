export * from './browser.js'
export { verifyWebhook, WebhookVerificationError, type WebhookEvent } from './webhooks.js'
export * from './tlog/index.js'
