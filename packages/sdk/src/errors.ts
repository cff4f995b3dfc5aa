/** Every error the client throws is a GatehouseError; HTTP answers are APIErrors with their status and code. */
export class GatehouseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = new.target.name
  }
}

export class APIError extends GatehouseError {
  constructor(
    readonly status: number,
    /** The server's stable error code, e.g. `token_expired`, `validation_failed`. */
    readonly code: string,
    message: string,
    readonly requestId: string | undefined,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
  }
}

export class BadRequestError extends APIError {}
export class AuthenticationError extends APIError {}
export class PermissionDeniedError extends APIError {}
export class NotFoundError extends APIError {}
export class ConflictError extends APIError {}
export class RateLimitError extends APIError {}
export class InternalServerError extends APIError {}

/** The server could not be reached, or did not answer in time. */
export class APIConnectionError extends GatehouseError {
  constructor(message: string, override readonly cause?: unknown) {
    super(message)
  }
}
export class APIConnectionTimeoutError extends APIConnectionError {}

export function errorForStatus(status: number, body: unknown, requestId: string | undefined): APIError {
  const raw = (body as { error?: unknown } | null)?.error
  const envelope = typeof raw === 'object' && raw !== null ? (raw as { code?: string; message?: string; requestId?: string; details?: Record<string, unknown> }) : undefined
  // The OAuth token route answers in RFC 6749's form (`{ error: 'invalid_client', error_description }`).
  const oauth = body as { error?: unknown; error_description?: unknown } | null
  const oauthCode = typeof oauth?.error === 'string' ? oauth.error : undefined
  const oauthMessage = typeof oauth?.error_description === 'string' ? oauth.error_description : undefined
  const code = envelope?.code ?? oauthCode ?? `http_${status}`
  const message = envelope?.message ?? oauthMessage ?? `HTTP ${status}`
  const args = [status, code, message, envelope?.requestId ?? requestId, envelope?.details] as const
  if (status === 400 || status === 413 || status === 415 || status === 422) return new BadRequestError(...args)
  if (status === 401) return new AuthenticationError(...args)
  if (status === 403) return new PermissionDeniedError(...args)
  if (status === 404) return new NotFoundError(...args)
  if (status === 409) return new ConflictError(...args)
  if (status === 429) return new RateLimitError(...args)
  if (status >= 500) return new InternalServerError(...args)
  return new APIError(...args)
}
