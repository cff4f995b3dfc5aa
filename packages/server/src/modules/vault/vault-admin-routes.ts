import { Type } from '@sinclair/typebox'
import { principalOf } from '../../http/access.js'
import { authedErrors, Name, SpaceId, SpaceParams, Timestamp, withConflict } from '../../http/schemas.js'
import type { App } from '../../http/types.js'
import type { VaultClientsService } from './clients/vault-clients-service.js'
import type { SigningKeys } from './clients/signing-keys.js'
import { MASKS, VAULT_ACTIONS, type ModelRule } from './policies/vault-policy-types.js'
import type { VaultPoliciesService } from './policies/vault-policies-service.js'

const FieldList = Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }), { maxItems: 200, uniqueItems: true })

const AclSchema = Type.Union([
  Type.Object({ source: Type.Literal('none') }, { additionalProperties: false }),
  Type.Object(
    {
      source: Type.Literal('external'),
      url: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000, description: "Your filter endpoint (reference 004's protocol)" }),
      timeoutMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 30_000, description: 'Default 2000' })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      source: Type.Literal('grants'),
      resourceKind: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$', description: 'e.g. customer' }),
      field: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$', description: "The model field holding that resource's id" }),
    },
    { additionalProperties: false, description: 'Rows open to the person in x-client-auth while they hold an active grant on the resource named by `field`' },
  ),
])

const ModelRuleSchema = Type.Object(
  {
    actions: Type.Array(Type.Union(VAULT_ACTIONS.map((action) => Type.Literal(action))), { uniqueItems: true, maxItems: 3 }),
    readable: Type.Optional(FieldList),
    filterable: Type.Optional(FieldList),
    writable: Type.Optional(FieldList),
    masked: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }), Type.Union(MASKS.map((mask) => Type.Literal(mask))), { additionalProperties: false, maxProperties: 200 })),
    rowFilter: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'A filter in the find language; rows outside it do not exist for these clients' })),
    acl: AclSchema,
  },
  { additionalProperties: false },
)
const Rules = Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }), ModelRuleSchema, { additionalProperties: false, maxProperties: 100 })
const PolicyBody = Type.Object({ name: Name, rules: Rules }, { additionalProperties: false })
const PolicySchema = Type.Object({ id: Type.String(), name: Type.String(), rules: Type.Record(Type.String(), Type.Unknown()), createdAt: Timestamp, updatedAt: Timestamp })
const ClientSchema = Type.Object({ id: Type.String(), clientId: Type.String(), name: Type.String(), policyId: Type.String(), createdAt: Timestamp })
const IdParams = Type.Object({ space: SpaceId, id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) })
const admin = { role: 'admin', scope: 'vault:admin' } as const

export function registerVaultAdminRoutes(app: App, deps: { policies: VaultPoliciesService; clients: VaultClientsService; keys: SigningKeys }): void {
  const { policies, clients } = deps
  app.post('/v1/spaces/:space/vault/policies', {
    schema: { operationId: 'createVaultPolicy', tags: ['vault'], params: SpaceParams, body: PolicyBody, response: { 201: PolicySchema, ...withConflict } },
    config: { access: admin },
    handler: async (request, reply) => reply.code(201).send(await policies.create(principalOf(request), { name: request.body.name, rules: request.body.rules as Record<string, ModelRule> })),
  })
  app.get('/v1/spaces/:space/vault/policies', {
    schema: { operationId: 'listVaultPolicies', tags: ['vault'], params: SpaceParams, response: { 200: Type.Object({ policies: Type.Array(PolicySchema) }), ...authedErrors } },
    config: { access: admin },
    handler: async (request) => ({ policies: await policies.list(request.params.space) }),
  })
  app.get('/v1/spaces/:space/vault/policies/:id', {
    schema: { operationId: 'getVaultPolicy', tags: ['vault'], params: IdParams, response: { 200: PolicySchema, ...authedErrors } },
    config: { access: admin },
    handler: async (request) => policies.get(request.params.space, request.params.id),
  })
  app.put('/v1/spaces/:space/vault/policies/:id', {
    schema: { operationId: 'replaceVaultPolicy', tags: ['vault'], params: IdParams, body: PolicyBody, response: { 200: PolicySchema, ...withConflict } },
    config: { access: admin },
    handler: async (request) => policies.replace(principalOf(request), request.params.id, { name: request.body.name, rules: request.body.rules as Record<string, ModelRule> }),
  })
  app.delete('/v1/spaces/:space/vault/policies/:id', {
    schema: { operationId: 'deleteVaultPolicy', tags: ['vault'], params: IdParams, response: { 204: Type.Null(), ...withConflict } },
    config: { access: admin },
    handler: async (request, reply) => {
      await policies.delete(principalOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  })

  app.post('/v1/spaces/:space/vault/clients', {
    schema: {
      operationId: 'createVaultClient',
      tags: ['vault'],
      summary: 'A client id and secret for POST /oauth/token, bound to one access policy; the secret is shown once',
      params: SpaceParams,
      body: Type.Object({ name: Name, policyId: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
      response: { 201: Type.Object({ ...ClientSchema.properties, clientSecret: Type.String() }), ...authedErrors },
    },
    config: { access: admin },
    handler: async (request, reply) => reply.code(201).send(await clients.create(principalOf(request), request.body)),
  })
  app.get('/v1/spaces/:space/vault/clients', {
    schema: { operationId: 'listVaultClients', tags: ['vault'], params: SpaceParams, response: { 200: Type.Object({ clients: Type.Array(ClientSchema) }), ...authedErrors } },
    config: { access: admin },
    handler: async (request) => ({ clients: await clients.list(request.params.space) }),
  })
  app.delete('/v1/spaces/:space/vault/clients/:id', {
    schema: { operationId: 'deleteVaultClient', tags: ['vault'], summary: 'Its tokens stop working at once', params: IdParams, response: { 204: Type.Null(), ...authedErrors } },
    config: { access: admin },
    handler: async (request, reply) => {
      await clients.delete(principalOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  })

  app.post('/v1/vault/signing-keys::rotate', {
    schema: {
      operationId: 'rotateVaultSigningKey',
      tags: ['vault'],
      summary: 'Sign new vault tokens with a new key; the old one stays published until its last token expires',
      response: { 200: Type.Object({ kid: Type.String() }), ...authedErrors },
    },
    config: { access: { role: 'admin', scope: 'instance:admin' } },
    handler: async () => deps.keys.rotate(),
  })
}
