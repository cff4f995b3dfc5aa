import { Type } from '@sinclair/typebox'
import type { App } from '../../http/types.js'
import type { SigningKeys } from './clients/signing-keys.js'
import type { VaultClientsService } from './clients/vault-clients.js'

/** RFC 6749 §5.2: this endpoint speaks OAuth's error format, so standard clients understand it. */
const OAuthError = Type.Object({ error: Type.String(), error_description: Type.String() })

function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '')
  if (!match) return null
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const at = decoded.indexOf(':')
  return at < 0 ? null : { id: decodeURIComponent(decoded.slice(0, at)), secret: decodeURIComponent(decoded.slice(at + 1)) }
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
    config: { access: { public: true }, rateLimit: { max: 60, timeWindow: 60_000 } },
    handler: async (request, reply) => {
      reply.header('cache-control', 'no-store')
      if (request.validationError) return reply.code(400).send({ error: 'invalid_request', error_description: request.validationError.message })
      const body = request.body
      if (body.grant_type !== 'client_credentials') {
        return reply.code(400).send({ error: 'unsupported_grant_type', error_description: 'only grant_type=client_credentials is supported' })
      }
      const basic = basicCredentials(request.headers.authorization)
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
