import type { BodyOf, QueryOf } from '../call.js'
import type { Call } from './call-type.js'

/** Unauthenticated probes and the vault's public keys. */
export const systemNamespace = (call: Call) => ({
  health: () => call('health'),
  /** Rejects with a 503 error while the database does not answer or the node shuts down. */
  ready: () => call('ready'),
  jwks: () => call('jwks'),
})

export const spaceNamespace = (call: Call) => ({
  list: (query: QueryOf<'listSpaces'> = {}) => call('listSpaces', { query }),
  /** This client's space unless another is named. */
  get: (space?: string) => call('getSpace', {}, space),
  /** The answer holds the new space's `admin` token, once. */
  create: (body: BodyOf<'createSpace'>) => call('createSpace', { body }),
})
