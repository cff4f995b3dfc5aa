import { Webhook, WebhookVerificationError } from 'standardwebhooks'

export interface WebhookEvent {
  type: string
  timestamp: string
  data: Record<string, unknown>
}

export { WebhookVerificationError }

/**
 * Checks a delivery's Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) against your endpoint's `whsec_…` secret and returns the event. Throws
 * WebhookVerificationError on a bad signature or a timestamp further than `toleranceSeconds` from
 * now (at most 300, the library's own bound). Pass the body exactly as received, as a string or Buffer.
 */
export function verifyWebhook(
  secret: string,
  headers: Record<string, string | string[] | undefined> | Headers,
  body: string | Buffer,
  options: { toleranceSeconds?: number; now?: Date } = {},
): WebhookEvent {
  const flat: Record<string, string> = {}
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers)
  for (const [name, value] of entries) if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value
  const tolerance = Math.min(options.toleranceSeconds ?? 300, 300)
  const timestamp = Number(flat['webhook-timestamp'])
  const now = (options.now ?? new Date()).getTime() / 1000
  if (!Number.isFinite(timestamp) || Math.abs(now - timestamp) > tolerance) {
    throw new WebhookVerificationError(`webhook timestamp is more than ${tolerance} s from now`)
  }
  return new Webhook(secret).verify(body, flat) as WebhookEvent
}
