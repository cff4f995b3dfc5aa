import { Ajv } from 'ajv'
import { Pool, errors as undiciErrors } from 'undici'
import { AppError } from '../../../http/errors.js'
import { ACL_RESPONSE_SCHEMA } from './acl-schemas.js'

export type AclAction = 'read' | 'write' | 'delete'

export interface AclCall {
  url: string
  timeoutMs: number
  /** The bearer token from the caller's x-client-auth header, forwarded as Authorization. */
  clientToken: string
  action: AclAction
  /** The model name: the request's `type`. */
  model: string
  /** The model's primary-key name: the key of the id array in the request and the answer. */
  primaryKey: string
  ids: string[]
}

/** Ids per request to the filter endpoint; more candidates go in several requests. */
export const ACL_CHUNK = 1000
const MAX_ANSWER_BYTES = 10 * 1024 * 1024

const validateAnswer = new Ajv({ strict: false }).compile(ACL_RESPONSE_SCHEMA)

/**
 * Reference 004's external ACL: POST `{ action, type, <primaryKey>: [ids] }` to the application's
 * filter endpoint with `Authorization: Bearer <x-client-auth token>`; the answer is
 * `{ <primaryKey>: [ids] | "*" }`. Fails closed: any doubt is an error, never an allowance. One
 * keep-alive undici pool per endpoint origin.
 */
export function createExternalAcl() {
  const pools = new Map<string, Pool>()
  const poolFor = (origin: string) => {
    let pool = pools.get(origin)
    if (!pool) {
      pool = new Pool(origin, { connections: 16, keepAliveTimeout: 30_000 })
      pools.set(origin, pool)
    }
    return pool
  }

  async function ask(call: AclCall, ids: string[]): Promise<Set<string> | '*'> {
    const url = new URL(call.url)
    const body = JSON.stringify({ action: `v1.restapi.${call.action}`, type: call.model, [call.primaryKey]: ids })
    let response
    try {
      response = await poolFor(url.origin).request({
        method: 'POST',
        path: `${url.pathname}${url.search}`,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${call.clientToken}` },
        body,
        headersTimeout: call.timeoutMs,
        bodyTimeout: call.timeoutMs,
        signal: AbortSignal.timeout(call.timeoutMs),
      })
    } catch (error) {
      const timedOut = error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError || (error as Error).name === 'TimeoutError'
      if (timedOut) throw new AppError('acl_timeout', `the ACL filter endpoint did not answer within ${call.timeoutMs} ms; nothing was returned or written`)
      throw new AppError('acl_unreachable', `the ACL filter endpoint could not be reached (${(error as { code?: string }).code ?? (error as Error).message}); nothing was returned or written`)
    }
    let text: string
    try {
      text = await response.body.text()
    } catch {
      throw new AppError('acl_timeout', `the ACL filter endpoint did not finish its answer within ${call.timeoutMs} ms; nothing was returned or written`)
    }
    if (response.statusCode < 200 || response.statusCode > 299) {
      throw new AppError('acl_error_status', `the ACL filter endpoint answered HTTP ${response.statusCode}; nothing was returned or written`)
    }
    if (text.length > MAX_ANSWER_BYTES) throw new AppError('acl_invalid_response', 'the ACL filter endpoint answered more than 10 MiB')
    let answer: unknown
    try {
      answer = JSON.parse(text)
    } catch {
      throw new AppError('acl_invalid_response', 'the ACL filter endpoint did not answer JSON; nothing was returned or written')
    }
    if (!validateAnswer(answer)) {
      throw new AppError('acl_invalid_response', `the ACL filter endpoint's answer does not match the response schema (${validateAnswer.errors?.[0]?.message ?? 'invalid'}); nothing was returned or written`)
    }
    const allowed = (answer as Record<string, string[] | '*'>)[call.primaryKey]
    if (allowed === undefined) {
      throw new AppError('acl_invalid_response', `the ACL filter endpoint answered with key '${Object.keys(answer as object)[0]}', expected '${call.primaryKey}'; nothing was returned or written`)
    }
    return allowed === '*' ? '*' : new Set(allowed)
  }

  return {
    /**
     * The subset of `ids` the endpoint allows. Ids in an answer that were not asked about are
     * ignored: an ACL narrows, never widens.
     */
    async allowedIds(call: AclCall): Promise<Set<string>> {
      const allowed = new Set<string>()
      for (let start = 0; start < call.ids.length; start += ACL_CHUNK) {
        const chunk = call.ids.slice(start, start + ACL_CHUNK)
        const answer = await ask(call, chunk)
        for (const id of chunk) if (answer === '*' || answer.has(id)) allowed.add(id)
      }
      return allowed
    },

    async close(): Promise<void> {
      await Promise.all([...pools.values()].map((pool) => pool.close()))
      pools.clear()
    },
  }
}

export type ExternalAcl = ReturnType<typeof createExternalAcl>
