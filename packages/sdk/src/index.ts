export * from './browser.js'
export { verifyWebhook, WebhookVerificationError, type WebhookEvent } from './webhooks.js'
export { signInWithSso, SsoSignInError, type SsoSignInOptions, type SsoSignInResult } from './sso.js'
export * from './tlog/index.js'
