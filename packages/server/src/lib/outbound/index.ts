import { badRequest } from '../../http/errors.js'
import { checkOutboundUrl, type OutboundPolicy } from './outbound-policy.js'

export { createOutboundClient, OutboundFailure, type OutboundClient, type OutboundResponse } from './outbound-client.js'
export { ALLOW_VARIABLE, decideAddress, decideHost, parseOutboundAllow, type OutboundPolicy } from './outbound-policy.js'
export { redactUrl } from './redact-url.js'

/** Save-time check for a URL Gatehouse will call: a 400 naming the field and the rule it breaks. */
export function assertOutboundUrl(raw: string, policy: OutboundPolicy, field: string): URL {
  const check = checkOutboundUrl(raw, policy)
  if (!check.ok) throw badRequest(`${field} ${check.message}`, { field })
  return check.url
}
