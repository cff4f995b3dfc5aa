import { callOperation, type BodyOf, type CallInput, type OperationId, type ResultOf } from './call.js'
import { AuthenticationError } from './errors.js'
import { createTransport, type Request } from './transport.js'

export interface VaultConnectOptions {
  clientId: string
  clientSecret: string
  /**
   * The end user's Gatehouse token, sent as `x-client-auth` for models guarded by the `grants` ACL;
   * a function is asked on every request (the user may change).
   */
  clientAuth?: string | (() => string | undefined | Promise<string | undefined>)
  /** Fetch a new token this many seconds before the current one expires (default 30, at most half its lifetime). */
  refreshBeforeSeconds?: number
  /** The clock that decides when the token is due (milliseconds); `Date.now` unless a test moves time. */
  now?: () => number
}

export interface VaultTransportOptions {
  baseUrl: string
  timeout: number
  maxRetries: number
  fetch: typeof fetch
}

type FindBody = BodyOf<'findRecords'>

/**
 * The vault's data plane (`/api/models/...`) as one application sees it: it fetches its OAuth
 * client-credentials token (`/oauth/token`) itself, keeps it, fetches a new one before it
 * expires, and once more when the server says 401 (a rotated key, a clock that disagrees).
 * A client that was deleted gets its token refused: that error is thrown as is.
 */
export class VaultDataClient {
  private readonly api: Request
  private readonly oauth: Request
  private token: { value: string; refreshAt: number } | undefined
  private pending: Promise<string> | undefined
  private readonly now: () => number
  /** Refusals of the credentials themselves: asking again with the same secret cannot help. */
  private readonly tokenErrors = new WeakSet<Error>()

  constructor(
    transport: VaultTransportOptions,
    private readonly options: VaultConnectOptions,
  ) {
    this.now = options.now ?? Date.now
    this.oauth = createTransport({ ...transport, headers: () => ({}) })
    this.api = createTransport({
      ...transport,
      headers: async () => {
        const clientAuth = typeof options.clientAuth === 'function' ? await options.clientAuth() : options.clientAuth
        return {
          authorization: `Bearer ${await this.accessToken()}`,
          ...(clientAuth ? { 'x-client-auth': /^bearer /i.test(clientAuth) ? clientAuth : `Bearer ${clientAuth}` } : {}),
        }
      },
    })
  }

  /** The current access token, fetched when there is none or it is due; concurrent calls share one fetch. */
  async accessToken(): Promise<string> {
    if (this.token && this.now() < this.token.refreshAt) return this.token.value
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined
    })
    return this.pending
  }

  private async fetchToken(): Promise<string> {
    const issuedAt = this.now()
    const answer = await callOperation(this.oauth, undefined, 'oauthToken', {
      body: { grant_type: 'client_credentials', client_id: this.options.clientId, client_secret: this.options.clientSecret },
    }).catch((error: unknown) => {
      if (error instanceof Error) this.tokenErrors.add(error)
      throw error
    })
    const margin = Math.min(this.options.refreshBeforeSeconds ?? 30, answer.expires_in / 2)
    this.token = { value: answer.access_token, refreshAt: issuedAt + (answer.expires_in - margin) * 1000 }
    return answer.access_token
  }

  private async call<O extends OperationId>(id: O, input: CallInput<O>): Promise<ResultOf<O>> {
    try {
      return await callOperation(this.api, undefined, id, input)
    } catch (error) {
      // Once only: a fresh token that is refused too means the client itself is refused.
      if (!(error instanceof AuthenticationError) || this.tokenErrors.has(error)) throw error
      this.token = undefined
      return callOperation(this.api, undefined, id, input)
    }
  }

  find(model: string, query: FindBody = {}) {
    return this.call('findRecords', { path: { model }, body: query })
  }
  create(model: string, record: BodyOf<'createRecord'>) {
    return this.call('createRecord', { path: { model }, body: record })
  }
  /** Up to 100 records, all or none. */
  createMany(model: string, records: BodyOf<'createRecords'>['records']) {
    return this.call('createRecords', { path: { model }, body: { records } })
  }
  get(model: string, id: string) {
    return this.call('getRecord', { path: { model, id } })
  }
  update(model: string, id: string, patch: BodyOf<'updateRecord'>) {
    return this.call('updateRecord', { path: { model, id }, body: patch })
  }
  delete(model: string, id: string) {
    return this.call('deleteRecord', { path: { model, id } })
  }
}
