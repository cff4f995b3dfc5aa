import type { FastifyError, FastifyInstance } from 'fastify'
import { dbErrorToAppError } from '../db/db-errors.js'
import { unstorableText } from '../lib/storable-text.js'
import { AppError } from './errors.js'
import { describeIssues, type AjvIssue } from './validation-messages.js'

/** Maps anything thrown to the closed set of codes. Unknown errors become `internal`, detail-free. */
export function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error
  const fromDb = dbErrorToAppError(error)
  if (fromDb) return fromDb
  const fastifyError = error as FastifyError
  if (fastifyError.validation) {
    // `body.user.email: must match format "email"`: the path a person can find in what they sent.
    const issues = describeIssues(fastifyError.validationContext ?? 'request', fastifyError.validation as unknown as AjvIssue[])
    const first = issues[0] ?? { path: fastifyError.validationContext ?? 'request', message: 'is not valid' }
    return new AppError('validation_failed', `${first.path}: ${first.message}`, { issues })
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'request body is larger than this server accepts')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_TYPE':
      return new AppError('unsupported_media_type', 'send the body as application/json (content-type: application/json)')
  }
  const status = fastifyError.statusCode ?? 500
  if (status === 429) return new AppError('rate_limited', fastifyError.message)
  if (status >= 400 && status < 500) return new AppError('bad_request', fastifyError.message)
  return new AppError('internal', 'internal error: the server logged it; quote the requestId when you report it')
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toAppError(error)
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed')
    return reply.code(appError.status).send({
      error: { code: appError.code, message: appError.message, requestId: request.id, ...(appError.details ? { details: appError.details } : {}) },
    })
  })

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, requestId: request.id } }),
  )
}

const NUL_MESSAGE = 'text may not contain the NUL character (\\u0000): PostgreSQL cannot store it'
const SURROGATE_MESSAGE = 'text may not contain a lone UTF-16 surrogate (\\ud800-\\udfff without its pair): it is not a character and PostgreSQL cannot store it'

/**
 * False when no string or key parsed from this JSON text can hold NUL or a lone surrogate: the
 * text has no `\u0000` and no `\uD800`–`\uDFFF` escape. (A literal `\\u…` that looks like one
 * answers true: the exact, slower check then decides.)
 */
export const mayHoldUnstorableText = (json: string): boolean => /\\u(?:0000|[dD][89a-fA-F])/.test(json)

/** Why PostgreSQL could not store this text, or null when it can. */
function unstorable(text: string): string | null {
  const problem = unstorableText(text)
  return problem === 'nul' ? NUL_MESSAGE : problem === 'lone_surrogate' ? SURROGATE_MESSAGE : null
}

/**
 * PostgreSQL refuses NUL in text and jsonb. Catching it at the edge turns what would be a 500 deep
 * in a transaction into a 400 that says what to fix.
 */
export function refuseNulCharacters(app: FastifyInstance): void {
  // Bodies are JSON (or an OAuth form): JSON sent as text/plain is a 415 that says so, not a
  // confusing "body must be object".
  app.removeContentTypeParser('text/plain')
  // OAuth clients send form bodies (RFC 6749 §4.4.2).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string
    if (text.includes('%00')) return done(new AppError('bad_request', `the body: ${NUL_MESSAGE}`))
    const fields = Object.fromEntries(new URLSearchParams(text))
    // A raw NUL byte is not percent-encoded; check what was decoded too.
    const problem = Object.entries(fields).map(([key, value]) => unstorable(key) ?? unstorable(value)).find((found) => found !== null)
    if (problem) return done(new AppError('bad_request', `the body: ${problem}`))
    done(null, fields)
  })
  // Synchronous (done-callback): every request runs it, and it never waits.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.url.includes('%00')) return done(new AppError('bad_request', `the URL: ${NUL_MESSAGE}`))
    done()
  })
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined)
    try {
      // Without an escape that could spell one, no parsed string can hold NUL or a lone surrogate:
      // JSON refuses a raw NUL (control characters must be escaped), and text decoded from UTF-8
      // never holds a lone surrogate. Such bodies skip the reviver, which costs several times
      // JSON.parse itself on a bulk upload's thousand resources.
      if (!mayHoldUnstorableText(body as string)) return done(null, JSON.parse(body as string))
      // Keys and string values both reach jsonb columns and audited names.
      const parsed: unknown = JSON.parse(body as string, (key, value: unknown) => {
        const keyProblem = unstorable(key)
        if (keyProblem) throw new AppError('bad_request', `the body: a property name: ${keyProblem}`)
        const valueProblem = typeof value === 'string' ? unstorable(value) : null
        if (valueProblem) throw new AppError('bad_request', `the body${key ? ` at '${safeKey(key)}'` : ''}: ${valueProblem}`)
        return value
      })
      done(null, parsed)
    } catch (error) {
      done(error instanceof AppError ? error : new AppError('bad_request', `the body is not valid JSON: ${(error as Error).message}`))
    }
  })
}

/** A key as it may be echoed in a message: short, and only printable ASCII. */
const safeKey = (key: string) => key.slice(0, 63).replace(/[^\x20-\x7e]/g, '?')
