import type { BodyOf, QueryOf } from '../call.js'
import type { Call } from './call-type.js'

/** The vault's control plane (models, access policies, clients); the data plane is `vault.connect()`. */
export const vaultNamespaces = (call: Call) => ({
  model: {
    list: () => call('listVaultModels'),
    get: (model: string) => call('getVaultModel', { path: { model } }),
    create: (body: BodyOf<'createVaultModel'>) => call('createVaultModel', { body }),
    /** Migrates the table; `{ dryRun: true }` answers the plan and changes nothing. */
    update: (model: string, body: BodyOf<'updateVaultModel'>, query: QueryOf<'updateVaultModel'> = {}) =>
      call('updateVaultModel', { path: { model }, body, query }),
    delete: (model: string) => call('deleteVaultModel', { path: { model } }),
  },
  policy: {
    list: () => call('listVaultPolicies'),
    get: (id: string) => call('getVaultPolicy', { path: { id } }),
    create: (body: BodyOf<'createVaultPolicy'>) => call('createVaultPolicy', { body }),
    replace: (id: string, body: BodyOf<'replaceVaultPolicy'>) => call('replaceVaultPolicy', { path: { id }, body }),
    delete: (id: string) => call('deleteVaultPolicy', { path: { id } }),
  },
  client: {
    list: () => call('listVaultClients'),
    /** The answer holds `clientSecret`, once. */
    create: (body: BodyOf<'createVaultClient'>) => call('createVaultClient', { body }),
    delete: (id: string) => call('deleteVaultClient', { path: { id } }),
    /** Server-wide: new vault tokens are signed with a new key; tokens signed with the old one keep working until they expire. */
    rotateSigningKey: () => call('rotateVaultSigningKey'),
  },
  /** The space's data key: a rotation answers the new version and the re-encryption job it started. */
  key: {
    rotateData: () => call('rotateVaultDataKey'),
    /** An equality-searchable field's index key; the job re-indexes its records. */
    rotateIndex: (model: string, field: string) => call('rotateVaultIndexKey', { path: { model, field } }),
  },
  /** Background jobs (re-encryption after a key rotation, re-indexing): their state and progress. */
  job: {
    list: (query: QueryOf<'listVaultJobs'> = {}) => call('listVaultJobs', { query }),
    get: (job: string) => call('getVaultJob', { path: { job } }),
  },
  /** The OAuth client-credentials exchange itself; `connect()` does it for you. */
  token: (body: BodyOf<'oauthToken'>) => call('oauthToken', { body }),
})
