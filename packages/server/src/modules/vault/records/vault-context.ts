import type { FastifyRequest } from 'fastify'
import type { Db } from '../../../db/db.js'
import { readBearer } from '../../../http/access.js'
import { AppError, notFound } from '../../../http/errors.js'
import type { AuditActor } from '../../audit/audit-types.js'
import type { SigningKeys } from '../clients/signing-keys.js'
import type { VaultClientsService } from '../clients/vault-clients-service.js'
import type { ModelsStore } from '../models/models-store.js'
import type { Model } from '../models/model-types.js'
import type { VaultPoliciesStore } from '../policies/vault-policies-store.js'
import type { ModelRule, VaultAction, VaultPolicy } from '../policies/vault-policy-types.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the access hook on `{ vault: true }` routes, before the body is read. */
    vaultContext: VaultContext | null
  }
}

/** Who is calling the data plane, and under which policy, for one request. */
export interface VaultContext {
  spaceId: string
  actor: AuditActor
  policy: VaultPolicy
  /** The token from `x-client-auth`, if the caller sent one. */
  clientToken: string | null
}

export function createVaultContexts(deps: { db: Db; keys: SigningKeys; clients: VaultClientsService; policies: VaultPoliciesStore; models: ModelsStore }) {
  return {
    /** Verifies the vault token and reads the client and its policy now: deletions take effect at once. */
    async resolve(headers: { authorization?: string; 'x-client-auth'?: string | string[] }): Promise<VaultContext> {
      const claims = await deps.keys.verify(readBearer(headers.authorization, 'Authorization'))
      const client = await deps.clients.byClientId(claims.sub)
      if (!client || client.spaceId !== claims.space) throw new AppError('unauthenticated', 'this vault client no longer exists')
      const policy = await deps.policies.get(deps.db, client.spaceId, client.policyId)
      if (!policy) throw new AppError('forbidden', "this vault client's access policy was deleted")
      const raw = headers['x-client-auth']
      const clientAuth = Array.isArray(raw) ? raw[0] : raw
      return {
        spaceId: client.spaceId,
        actor: { kind: 'vault_client', id: client.clientId, display: client.name },
        policy,
        clientToken: clientAuth ? readBearer(clientAuth, 'x-client-auth') : null,
      }
    },

    /** The model and this policy's rule for it; a model the policy does not cover looks like no model. */
    async modelFor(context: VaultContext, name: string, action: VaultAction): Promise<{ model: Model; rule: ModelRule }> {
      const rule = Object.prototype.hasOwnProperty.call(context.policy.rules, name) ? context.policy.rules[name] : undefined
      const model = rule ? await deps.models.get(deps.db, context.spaceId, name) : null
      if (!rule || !model) throw notFound('model', name)
      if (!rule.actions.includes(action)) throw new AppError('forbidden', `your access policy does not allow '${action}' on model '${name}'`)
      return { model, rule }
    },
  }
}

export type VaultContexts = ReturnType<typeof createVaultContexts>

/** The access hook's check for /api routes: a bad or missing vault token is a 401 before any body validation. */
export const authenticateVaultRequest = (contexts: VaultContexts) => async (request: FastifyRequest): Promise<void> => {
  const headers = request.headers
  request.vaultContext = await contexts.resolve({ authorization: headers.authorization, 'x-client-auth': headers['x-client-auth'] })
}

export function vaultContextOf(request: FastifyRequest): VaultContext {
  if (!request.vaultContext) throw new AppError('unauthenticated', 'this route needs a vault token from POST /oauth/token')
  return request.vaultContext
}
