import { GatehouseAPI } from '@gatehouse/sdk/client'
import { readCookie } from './lib/cookies'

/**
 * The console's only way to the server: the SDK in session mode. The session token is an HttpOnly
 * cookie the browser sends by itself (same origin); every call but GET/HEAD also carries the CSRF
 * token from the readable gatehouse_csrf cookie, as the server requires.
 */
export function sessionClient(space: string): GatehouseAPI {
  return new GatehouseAPI({ baseUrl: '', space, credentials: 'same-origin', csrfToken: () => readCookie('gatehouse_csrf'), maxRetries: 1 })
}

/** The first-admin setup: the admin token printed at first start, held in memory for these calls only. */
export function tokenClient(space: string, token: string): GatehouseAPI {
  return new GatehouseAPI({ baseUrl: '', space, token, maxRetries: 0 })
}

export type Api = GatehouseAPI
