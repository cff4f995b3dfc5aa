import { Type } from '@sinclair/typebox'
import type { FastifyError, FastifyReply } from 'fastify'
import { toAppError } from '../../http/error-handler.js'
import type { App } from '../../http/types.js'
import type { SigningKeys } from './clients/signing-keys.js'
import type { VaultClientsService } from './clients/vault-clients-service.js'

/** RFC 6749 §5.2: this endpoint speaks OAuth's error format, so standard clients understand it. */
const OAuthError = Type.Object({ error: Type.String(), error_description: Type.String() })

type Basic = { id: string; secret: string } | { malformed: string } | null

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** RFC 6749 §2.3.1: each part form-urlencoded, then `id:secret` in base64. */
function formDecode(part: string): string | null {
  try {
    const text = decodeURIComponent(part)
    return text.includes('\u0000') ? null : text
  } catch {
    return null
  }
}

/** HTTP Basic client credentials; null when the caller did not use Basic; `malformed` says why it cannot be read. */
function basicCredentials(header: string | undefined): Basic {
  const match = /^Basic(?:\s+(.*))?$/i.exec(header?.trim() ?? '')
  if (!match) return null
  const encoded = match[1]?.trim() ?? ''
  if (!encoded || !BASE64.test(encoded)) return { malformed: 'the Basic credentials are not base64' }
  let decoded: string
  try {
    decoded = utf8.decode(Buffer.from(encoded, 'base64'))
  } catch {
    return { malformed: 'the Basic credentials are not UTF-8 text' }
  }
  const at = decoded.indexOf(':')
  if (at < 0) return { malformed: "the Basic credentials must be 'client_id:client_secret'" }
  const id = formDecode(decoded.slice(0, at))
  const secret = formDecode(decoded.slice(at + 1))
  if (id === null || secret === null) return { malformed: 'the Basic credentials are not valid form-urlencoded text' }
  return { id, secret }
}

/**
 * Whatever goes wrong before the handler answers (a body that does not parse, a NUL, a body too
 * large) is answered in RFC 6749's form too, never our envelope and never a 500 for bad input.
 */
function oauthError(error: FastifyError, _request: unknown, reply: FastifyReply) {
  const appError = toAppError(error)
  if (appError.status >= 500 || appError.status === 429) throw error
  reply.header('cache-control', 'no-store')
  if (appError.status === 401) {
    return reply.code(401).header('www-authenticate', 'Basic realm="gatehouse"').send({ error: 'invalid_client', error_description: appError.message })
  }
  return reply.code(appError.status).send({ error: 'invalid_request', error_description: appError.message })
}

export function registerOAuthRoutes(app: App, deps: { clients: VaultClientsService; keys: SigningKeys; tokenTtlSeconds: number }): void {
  app.post('/oauth/token', {
    schema: {
      operationId: 'oauthToken',
      tags: ['vault'],
      summary: 'OAuth 2.0 client credentials → a short-lived EdDSA JWT for the vault API (form or JSON body, or HTTP Basic)',
      body: Type.Object({
        grant_type: Type.String({ maxLength: 100 }),
        client_id: Type.Optional(Type.String({ maxLength: 200 })),
        client_secret: Type.Optional(Type.String({ maxLength: 500 })),
        scope: Type.Optional(Type.String({ maxLength: 500 })),
      }),
      response: {
        200: Type.Object({ access_token: Type.String(), token_type: Type.Literal('Bearer'), expires_in: Type.Integer() }),
        400: OAuthError,
        401: OAuthError,
      },
    },
    attachValidation: true,
    errorHandler: oauthError,
    config: { access: { public: true }, rateLimit: { max: 60, timeWindow: 60_000 } },
    handler: async (request, reply) => {
      reply.header('cache-control', 'no-store')
      if (request.validationError) return reply.code(400).send({ error: 'invalid_request', error_description: request.validationError.message })
      const body = request.body
      if (body.grant_type !== 'client_credentials') {
        return reply.code(400).send({ error: 'unsupported_grant_type', error_description: 'only grant_type=client_credentials is supported' })
      }
      const basic = basicCredentials(request.headers.authorization)
      if (basic && 'malformed' in basic) {
        return reply.code(401).header('www-authenticate', 'Basic realm="gatehouse"').send({ error: 'invalid_client', error_description: basic.malformed })
      }
      const id = basic?.id ?? body.client_id
      const secret = basic?.secret ?? body.client_secret
      if (!id || !secret) return reply.code(400).send({ error: 'invalid_request', error_description: 'send client_id and client_secret, in the body or as HTTP Basic' })
      const client = await deps.clients.authenticate(id, secret)
      if (!client) return reply.code(401).header('www-authenticate', 'Basic realm="gatehouse"').send({ error: 'invalid_client', error_description: 'unknown client or wrong secret' })
      const token = await deps.keys.sign({ sub: client.clientId, space: client.spaceId, pol: client.policyId })
      return { access_token: token, token_type: 'Bearer' as const, expires_in: deps.tokenTtlSeconds }
    },
  })

  app.get('/.well-known/jwks.json', {
    schema: {
      operationId: 'jwks',
      tags: ['vault'],
      summary: 'Public keys that verify vault tokens, including retired ones until their tokens expire',
      response: { 200: Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }) },
    },
    config: { access: { public: true } },
    handler: async () => deps.keys.jwks(),
  })
}
