import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import type { OutboundClient } from '../../lib/outbound/index.js'
import type { AuditService } from '../audit/audit-service.js'
import type { GrantLookup } from '../approvals/approvals-types.js'
import type { Principal } from '../auth/auth-types.js'
import { createExternalAcl } from './acl/external-acl.js'
import type { FieldKeys } from './crypto/field-keys.js'
import { CONVERT_FIELD_JOB, createConvertFieldJob } from './crypto/convert-field-job.js'
import { createReencryptJob, REENCRYPT_JOB } from './crypto/reencrypt-job.js'
import { createReindexJob, REINDEX_JOB } from './crypto/reindex-job.js'
import { registerVaultKeysRoutes } from './crypto/vault-keys-routes.js'
import { createVaultKeysService } from './crypto/vault-keys-service.js'
import type { JobRunner, JobsService } from '../jobs/index.js'
import type { KeyService } from '../keys/keys-service.js'
import { createGrantsAcl } from './acl/grants-acl.js'
import type { SecretSealer } from '../keys/keys-types.js'
import { createSigningKeys } from './clients/signing-keys.js'
import { createVaultClientsService } from './clients/vault-clients-service.js'
import { createVaultClientsStore } from './clients/vault-clients-store.js'
import { createVaultControlCache } from './control-cache.js'
import { createModelsService } from './models/models-service.js'
import { createModelsStore } from './models/models-store.js'
import { ModelSchema, registerModelsRoutes } from './models/models-routes.js'
import { registerOAuthRoutes } from './oauth-routes.js'
import { createVaultPoliciesService } from './policies/vault-policies-service.js'
import { createVaultPoliciesStore } from './policies/vault-policies-store.js'
import { registerRecordsRoutes } from './records/records-routes.js'
import { createRecordsService } from './records/records-service.js'
import { createRecordsStore } from './records/records-store.js'
import { createTableResolver } from './records/resolved-table.js'
import { authenticateVaultRequest, createVaultContexts } from './records/vault-context.js'
import { registerVaultAdminRoutes } from './vault-admin-routes.js'
import { consoleVaultSchemas, registerConsoleVaultRoutes } from './console/console-vault-routes.js'
import { createConsoleVaultService } from './console/console-vault-service.js'
import { createConsoleVaultStore } from './console/console-vault-store.js'

export interface VaultOptions {
  /** Lifetime of a vault token (InCountry's: 300 s). */
  tokenTtlSeconds?: number
  /** Candidates above which a find guarded by an external ACL is refused. */
  maxAclCandidates?: number
  /** The data and index keys of encrypted fields; without them a model with an encrypted field is refused. */
  fieldKeys?: FieldKeys
  /** How long a field conversion's job waits before its first batch (models-service.ts); default 2 s. */
  conversionDelayMs?: number
  /**
   * How long a key rotation's re-encryption or re-indexing job waits before its first batch: until
   * every node has seen the new key or stopped trusting its cache. A node still writing under the
   * old key after the job passed its row would leave a value that the old key's retirement makes
   * unreadable (or unsearchable).
   */
  keyJobDelayMs?: number
}

export function createVaultModule(
  deps: {
    db: Db
    audit: AuditService
    clock: () => Date
    /** Verifies the Gatehouse user token in x-client-auth, for the `grants` ACL source. */
    authenticate: (secret: string) => Promise<Principal>
    /** The approvals module's answers about grants, for the `grants` ACL source. */
    grants: GrantLookup
    /** External ACL calls go out through it; its policy also checks ACL URLs when a policy is saved. */
    outbound: OutboundClient
    /** Control-plane changes invalidate every node's cache of clients, policies and models. */
    changes: ChangeFeed
    /** The key service: the token signing keys' private keys are stored sealed under the master key. */
    secrets: SecretSealer
    /** Data key rotation: the key service's versions, and the jobs that re-encrypt under a new one. */
    keyRotation: Pick<KeyService, 'rotateDataKey' | 'retireDataKey' | 'dataKey' | 'dataKeyVersions' | 'rotateIndexKey' | 'retireIndexKey' | 'indexKey'>
    jobs: { service: Pick<JobsService, 'create' | 'queued' | 'active'>; runner: Pick<JobRunner, 'register'> }
  } & VaultOptions,
) {
  const { db, audit, clock, changes } = deps
  const tokenTtlSeconds = deps.tokenTtlSeconds ?? 300
  const modelsStore = createModelsStore()
  const policiesStore = createVaultPoliciesStore()
  const models = createModelsService({ db, store: modelsStore, audit, policies: policiesStore, changes, encryption: deps.fieldKeys !== undefined, jobs: deps.jobs.service, conversionDelayMs: deps.conversionDelayMs ?? 2_000 })
  const policies = createVaultPoliciesService({ db, store: policiesStore, audit, models: modelsStore, outboundPolicy: deps.outbound.policy, changes })
  const clientsStore = createVaultClientsStore()
  const clients = createVaultClientsService({ db, store: clientsStore, policies: policiesStore, audit, changes })
  const keys = createSigningKeys({ db, clock, tokenTtlSeconds, secrets: deps.secrets })
  const acl = createExternalAcl({ outbound: deps.outbound })
  const grantsAcl = createGrantsAcl({ authenticate: deps.authenticate, grants: deps.grants, clock })
  const control = createVaultControlCache({ db, clients: clientsStore, policies: policiesStore, models: modelsStore, changes })
  const contexts = createVaultContexts({ keys, control })
  const recordsStore = createRecordsStore()
  deps.jobs.runner.register(REENCRYPT_JOB, createReencryptJob({ db, keys: deps.keyRotation, models: modelsStore, records: recordsStore }))
  deps.jobs.runner.register(REINDEX_JOB, createReindexJob({ db, keys: deps.keyRotation, models: modelsStore, records: recordsStore }))
  deps.jobs.runner.register(CONVERT_FIELD_JOB, createConvertFieldJob({ db, keys: deps.keyRotation, models: modelsStore, records: recordsStore, audit, changes }))
  const vaultKeys = createVaultKeysService({ db, keys: deps.keyRotation, jobs: deps.jobs.service, audit, models: modelsStore, records: recordsStore, changes, jobDelayMs: deps.keyJobDelayMs ?? 2_000 })
  const records = createRecordsService({ db, store: recordsStore, contexts, tables: createTableResolver({ db, keys: deps.fieldKeys }), acl, grantsAcl, audit, maxAclCandidates: deps.maxAclCandidates ?? 10_000 })
  const consoleVault = createConsoleVaultService({ db, store: createConsoleVaultStore(), clients: clientsStore, policies: policiesStore, models: modelsStore, records, audit })
  return {
    services: { models, policies, clients, keys, records, consoleVault, vaultKeys },
    schemas: [ModelSchema, ...consoleVaultSchemas],
    /** For the access hook: resolves the vault token of an /api request. */
    authenticateRequest: authenticateVaultRequest(contexts),
    register(app: App) {
      app.decorateRequest('vaultContext', null)
      registerModelsRoutes(app, { models })
      registerVaultAdminRoutes(app, { policies, clients, keys })
      registerOAuthRoutes(app, { clients, keys, tokenTtlSeconds })
      registerRecordsRoutes(app, { records })
      registerVaultKeysRoutes(app, { vaultKeys })
      registerConsoleVaultRoutes(app, { consoleVault })
    },
  }
}
