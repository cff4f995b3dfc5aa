import { Ajv } from 'ajv'
import { AppError } from '../../../http/errors.js'
import { OutboundFailure, type OutboundClient } from '../../../lib/outbound/index.js'
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
/** Requests to one filter endpoint in flight at once for one call (the 10,000-candidate bound makes at most 10). */
export const ACL_PARALLEL_CALLS = 4
const MAX_ANSWER_BYTES = 10 * 1024 * 1024

const validateAnswer = new Ajv({ strict: false }).compile(ACL_RESPONSE_SCHEMA)

/**
 * Reference 004's external ACL: POST `{ action, type, <primaryKey>: [ids] }` to the application's
 * filter endpoint with `Authorization: Bearer <x-client-auth token>`; the answer is
 * `{ <primaryKey>: [ids] | "*" }`. Fails closed: any doubt is an error, never an allowance. Calls go
 * through the outbound client (its policy, connect-time address check and streaming size cap).
 *
 * What the caller learns is deliberately coarse: every failure to get an HTTP answer is
 * `acl_unreachable` with no cause (refused, reset, not HTTP, TLS, DNS, policy all look alike, so a
 * space admin cannot scan ports); a non-2xx answer is `acl_error_status` with its status, since it
 * is an HTTP answer from the endpoint the admin configured. Causes go to the server log.
 */
export function createExternalAcl(deps: { outbound: Pick<OutboundClient, 'send'> }) {
  async function ask(call: AclCall, ids: string[]): Promise<Set<string> | '*'> {
    const body = JSON.stringify({ action: `v1.restapi.${call.action}`, type: call.model, [call.primaryKey]: ids })
    let response
    try {
      response = await deps.outbound.send({
        purpose: 'external_acl',
        url: call.url,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${call.clientToken}` },
        body,
        timeoutMs: call.timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
      })
    } catch (error) {
      const kind = error instanceof OutboundFailure ? error.kind : 'unreachable'
      if (kind === 'timeout') throw new AppError('acl_timeout', `the ACL filter endpoint did not answer within ${call.timeoutMs} ms; nothing was returned or written`)
      if (kind === 'too_large') throw new AppError('acl_invalid_response', `the ACL answer is larger than ${MAX_ANSWER_BYTES} bytes; nothing was returned or written`)
      throw new AppError('acl_unreachable', 'the ACL filter endpoint could not be reached; nothing was returned or written')
    }
    if (response.status < 200 || response.status > 299) {
      throw new AppError('acl_error_status', `the ACL filter endpoint answered HTTP ${response.status}; nothing was returned or written`)
    }
    let answer: unknown
    try {
      answer = JSON.parse(response.body.toString('utf8'))
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
      const chunks: string[][] = []
      for (let start = 0; start < call.ids.length; start += ACL_CHUNK) chunks.push(call.ids.slice(start, start + ACL_CHUNK))
      const allowed = new Set<string>()
      // A few calls at once, so a find over 2,000 candidates waits for one round trip, not two;
      // any call that fails fails the whole find (Promise.all), as one at a time did.
      for (let first = 0; first < chunks.length; first += ACL_PARALLEL_CALLS) {
        const group = chunks.slice(first, first + ACL_PARALLEL_CALLS)
        const answers = await Promise.all(group.map((chunk) => ask(call, chunk)))
        group.forEach((chunk, i) => {
          const answer = answers[i]!
          for (const id of chunk) if (answer === '*' || answer.has(id)) allowed.add(id)
        })
      }
      return allowed
    },
  }
}

export type ExternalAcl = ReturnType<typeof createExternalAcl>
