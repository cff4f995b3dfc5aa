import pino, { type DestinationStream, type Logger } from 'pino'
import { redactUrl } from './lib/outbound/redact-url.js'

/** Secrets never reach the logs, whatever a handler or a plugin logs. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-client-auth"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-client-auth"]',
  'password',
  'token',
  'secret',
  'client_secret',
  '*.password',
  '*.token',
  '*.secret',
  '*.client_secret',
]

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        // Query strings and userinfo carry secrets (OIDC codes, tokens in webhook URLs): never logged.
        req: (req: { method: string; url: string; headers: Record<string, unknown>; ip?: string }) => ({
          method: req.method,
          url: redactUrl(req.url),
          headers: req.headers,
          remoteAddress: req.ip,
        }),
        url: (url: unknown) => (typeof url === 'string' ? redactUrl(url) : url),
      },
    },
    destination,
  )
}
