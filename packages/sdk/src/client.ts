import { configFromEnvironment, type ClientConfig } from './config.js'
import { BadRequestError, GatehouseError } from './errors.js'
import { createTransport, type Request } from './transport.js'
import { callOperation } from './call.js'
import type { Call } from './namespaces/call-type.js'
import { auditNamespace } from './namespaces/audit.js'
import { authNamespace, groupNamespace, serviceAccountNamespace, tokenNamespace, userNamespace } from './namespaces/members.js'
import { spaceNamespace, systemNamespace } from './namespaces/platform.js'
import { vaultNamespaces } from './namespaces/vault.js'
import { webhookNamespace } from './namespaces/webhooks.js'
import { VaultDataClient, type VaultConnectOptions } from './vault-data.js'
import { consoleVaultNamespace, sessionNamespace } from './session.js'
import type {
  ApprovalOutcome,
  ApprovalRequest,
  Grant,
  Petition,
  PetitionView,
  PetitionInput,
  Policy,
  PolicyInput,
  Resource,
  ResourceInput,
  ResourceRef,
  ReviewInput,
} from './types.js'

export interface GatehouseAPIOptions extends Partial<ClientConfig> {
  /** Per request, in milliseconds (default 60 s). */
  timeout?: number
  /** Retries of connection errors, 408, 429 and 5xx (default 2). */
  maxRetries?: number
  fetch?: typeof fetch
  /**
   * Session mode, for a browser console: no bearer token, the session cookie goes with every fetch
   * (`include`, or `same-origin` for a console served by the server itself).
   */
  credentials?: 'include' | 'same-origin'
  /** Sent as `x-csrf-token` on every request that is not a GET, asked again each time when a function. */
  csrfToken?: string | (() => string | undefined)
}

export interface BulkUpdateOptions {
  resources: ResourceInput[]
  /** Resources per request (default and maximum 1000); each request is atomic and idempotent on the server. */
  batchSize?: number
  /** Requests in flight at once (default 4). */
  concurrency?: number
  onProgress?: (progress: { done: number; total: number }) => void
}

/**
 * One page of a list, under the same key as the REST API's answer (`{ resources, nextCursor }`),
 * so a page from the SDK and one from `curl` read the same.
 */
export type Page<K extends string, T> = { [P in K]: T[] } & { nextCursor: string | null }
export type ResourcePage = Page<'resources', Resource>
export type PetitionPage = Page<'petitions', PetitionView>
export type GrantPage = Page<'grants', Grant>

const MAX_BATCH = 1000

/**
 * The server names items by their place in one batch (`body.resources.17.kind`); the caller gave
 * one long list, so say where in it (`resources[2017].kind`). Batches before this one are stored,
 * this one and later ones are not: repeating the whole call is safe.
 */
function inBatch(error: unknown, offset: number): unknown {
  if (!(error instanceof BadRequestError)) return error
  const message = error.message.replace(/body\.resources\.(\d+)/g, (_, index: string) => `resources[${offset + Number(index)}]`)
  return new BadRequestError(error.status, error.code, `${message} (resources before index ${offset} were stored)`, error.requestId, { ...error.details, batchOffset: offset })
}
const enc = encodeURIComponent

/**
 * The Gatehouse API client, in the shape of Indent's `IndentAPI`. Reads GATEHOUSE_URL,
 * GATEHOUSE_SPACE and GATEHOUSE_API_TOKEN unless given them.
 */
export class GatehouseAPI {
  /** The space every call goes to (`space` is the namespace of space operations). */
  readonly spaceId: string
  readonly baseUrl: string
  private readonly request: Request
  private readonly transport: { baseUrl: string; timeout: number; maxRetries: number; fetch: typeof fetch }

  /**
   * Without a token (and not in session mode) the client can still `auth.signIn` and read the public
   * routes; anything else is answered 401 by the server, as it would be for any caller.
   */
  constructor(options: GatehouseAPIOptions = {}) {
    const env = configFromEnvironment()
    const baseUrl = options.baseUrl ?? env.baseUrl ?? 'http://127.0.0.1:8080'
    const space = options.space ?? env.space
    // A session (cookie) client must not send a bearer token the environment happens to hold.
    const token = options.credentials ? options.token : (options.token ?? env.token)
    if (!space) throw new GatehouseError('no space: pass { space } or set GATEHOUSE_SPACE')
    this.spaceId = space
    this.baseUrl = baseUrl
    // Bound so that a fetch taken from `window` is not called with the client as `this` (an "Illegal invocation").
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.transport = { baseUrl, timeout: options.timeout ?? 60_000, maxRetries: options.maxRetries ?? 2, fetch: fetchFn }
    const csrf = options.csrfToken
    this.request = createTransport({
      ...this.transport,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      headers: (method) => {
        const csrfToken = typeof csrf === 'function' ? csrf() : csrf
        return {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(csrfToken && method !== 'GET' && method !== 'HEAD' ? { 'x-csrf-token': csrfToken } : {}),
        }
      },
    })
  }

  /** Any operation by its operationId; every namespace below is made of these. */
  private readonly call: Call = (id, input, space) => callOperation(this.request, space ?? this.spaceId, id, input)

  private get prefix(): string {
    return `v1/spaces/${enc(this.spaceId)}`
  }

  readonly resource = {
    /** Uploads any number of resources in bounded batches; safe to repeat. */
    bulkUpdate: async ({ resources, batchSize = MAX_BATCH, concurrency = 4, onProgress }: BulkUpdateOptions): Promise<{ received: number; changed: number }> => {
      const size = Math.max(1, Math.min(batchSize, MAX_BATCH))
      const batches: ResourceInput[][] = []
      for (let i = 0; i < resources.length; i += size) batches.push(resources.slice(i, i + size))
      let next = 0
      let done = 0
      let changed = 0
      let failed = false
      const worker = async () => {
        while (next < batches.length && !failed) {
          const index = next++
          const batch = batches[index]!
          try {
            const result = await this.request<{ received: number; changed: number }>('POST', `${this.prefix}/resources:bulkUpdate`, { body: { resources: batch } })
            changed += result.changed
          } catch (error) {
            failed = true
            throw inBatch(error, index * size)
          }
          done += batch.length
          onProgress?.({ done, total: resources.length })
        }
      }
      await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker))
      return { received: resources.length, changed }
    },
    list: async (query: { kind?: string; labels?: Record<string, string>; cursor?: string; limit?: number } = {}): Promise<ResourcePage> => {
      const label = Object.entries(query.labels ?? {}).map(([name, value]) => `${name}:${value}`)
      return this.request('GET', `${this.prefix}/resources`, {
        query: { kind: query.kind, label: label.length ? label : undefined, cursor: query.cursor, limit: query.limit },
      })
    },
    get: (ref: ResourceRef): Promise<Resource> => this.request('GET', `${this.prefix}/resources/${enc(ref.kind)}/${enc(ref.id)}`),
    delete: (ref: ResourceRef): Promise<void> => this.request('DELETE', `${this.prefix}/resources/${enc(ref.kind)}/${enc(ref.id)}`),
  }

  readonly approvals = {
    /** One call of the server's approval(): see the top-level `approval()` for the thrown-error form. */
    request: (body: ApprovalRequest): Promise<ApprovalOutcome> =>
      this.request('POST', `${this.prefix}/approvals`, { body, timeout: Math.max(60_000, (body.waitMs ?? 0) + 15_000) }),
  }

  readonly petition = {
    create: (body: PetitionInput): Promise<PetitionView> => this.request('POST', `${this.prefix}/petitions`, { body }),
    get: (id: string): Promise<PetitionView> => this.request('GET', `${this.prefix}/petitions/${enc(id)}`),
    list: (query: { state?: Petition['state']; petitioner?: string; cursor?: string; limit?: number } = {}): Promise<PetitionPage> =>
      this.request('GET', `${this.prefix}/petitions`, { query }),
    review: ({ id, ...body }: ReviewInput & { id: string }): Promise<PetitionView> => this.request('POST', `${this.prefix}/petitions/${enc(id)}:review`, { body }),
    cancel: (id: string): Promise<PetitionView> => this.request('POST', `${this.prefix}/petitions/${enc(id)}:cancel`),
  }

  readonly grant = {
    get: (id: string): Promise<Grant> => this.request('GET', `${this.prefix}/grants/${enc(id)}`),
    list: (
      query: { petitioner?: string; resourceKind?: string; resourceId?: string; active?: boolean; cursor?: string; limit?: number } = {},
    ): Promise<GrantPage> => this.request('GET', `${this.prefix}/grants`, { query }),
    /** Ends the grant now; `reason` goes into the audit event and the access/revoke webhook. */
    revoke: (id: string, body: { reason?: string } = {}): Promise<Grant> => this.request('POST', `${this.prefix}/grants/${enc(id)}:revoke`, { body }),
    extend: (id: string, body: { durationSeconds?: number; reason?: string } = {}): Promise<PetitionView> =>
      this.request('POST', `${this.prefix}/grants/${enc(id)}:extend`, { body }),
  }

  readonly policy = {
    list: (): Promise<{ policies: Policy[] }> => this.request('GET', `${this.prefix}/policies`),
    get: (id: string): Promise<Policy> => this.request('GET', `${this.prefix}/policies/${enc(id)}`),
    create: (body: PolicyInput): Promise<Policy> => this.request('POST', `${this.prefix}/policies`, { body }),
    replace: (id: string, body: PolicyInput): Promise<Policy> => this.request('PUT', `${this.prefix}/policies/${enc(id)}`, { body }),
    delete: (id: string): Promise<void> => this.request('DELETE', `${this.prefix}/policies/${enc(id)}`),
  }

  readonly system = systemNamespace(this.call)
  readonly space = spaceNamespace(this.call)
  readonly auth = authNamespace(this.call)
  /** The browser session (`createSession`, `deleteSession`) and the console's vault find: see session.ts. */
  readonly session = sessionNamespace(this.call)
  readonly consoleVault = consoleVaultNamespace(this.call)
  readonly user = userNamespace(this.call)
  readonly group = groupNamespace(this.call)
  readonly serviceAccount = serviceAccountNamespace(this.call)
  readonly token = tokenNamespace(this.call)
  readonly audit = auditNamespace(this.call, () => ({ request: this.request, space: this.spaceId }))
  readonly webhook = webhookNamespace(this.call)

  readonly vault = {
    ...vaultNamespaces(this.call),
    /** A data-plane client for one vault client's credentials; it fetches and refreshes its own token. */
    connect: (options: VaultConnectOptions): VaultDataClient => new VaultDataClient(this.transport, options),
  }
}
