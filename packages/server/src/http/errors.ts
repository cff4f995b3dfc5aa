/**
 * The closed set of error codes. A code is a stable contract (clients switch on it); the message is
 * for people and may improve over time.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  unauthenticated: 401,
  token_expired: 401,
  token_revoked: 401,
  invalid_credentials: 401,
  sso_failed: 401,
  password_sign_in_disabled: 403,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  acl_client_auth_missing: 401,
  acl_timeout: 504,
  acl_unreachable: 502,
  acl_error_status: 502,
  acl_invalid_response: 502,
  /** A stored ciphertext or sealed key does not open (altered, moved to another row, unknown key version). */
  integrity_failed: 422,
  internal: 500,
  unavailable: 503,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export class AppError extends Error {
  readonly status: number

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'AppError'
    this.status = ERROR_STATUS[code]
  }
}

export const notFound = (what: string, id: string) => new AppError('not_found', `${what} '${id}' not found`)
export const conflict = (message: string, details?: Record<string, unknown>) => new AppError('conflict', message, details)
export const forbidden = (message: string) => new AppError('forbidden', message)
export const badRequest = (message: string, details?: Record<string, unknown>) => new AppError('bad_request', message, details)
