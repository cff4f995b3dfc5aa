import type { FastifyInstance, FastifyRequest } from 'fastify'
import { hasScope, roleAtLeast, type Principal, type Role, type Scope } from '../modules/auth/auth-types.js'
import { AppError, forbidden, notFound } from './errors.js'

/**
 * What a route needs from its caller, declared on the route itself (`config.access`). The route
 * table is the source of truth: the security tests walk it, and a /v1 route that declares nothing
 * fails at start-up instead of being open.
 */
export type RouteAccess = { public: true } | { role: Role; scope: Scope } | { vault: true }

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess
  }
  interface FastifyRequest {
    principal: Principal | null
    /** The secret the principal was authenticated with (bearer or session cookie), for routes that act on the caller's behalf. */
    callerToken: string | null
  }
}

export type Authenticate = (secret: string) => Promise<Principal>

/** Checks a vault token (`{ vault: true }` routes, the /api data plane) and remembers who called on the request. */
export type AuthenticateVault = (request: FastifyRequest) => Promise<void>

const BEARER = /^Bearer[ ]+([A-Za-z0-9_.~+/-]+=*)$/

export function readBearer(header: string | undefined, headerName: string): string {
  if (!header) throw new AppError('unauthenticated', `missing ${headerName} header: send '${headerName}: Bearer <token>'`)
  const match = BEARER.exec(header.trim())
  if (!match) throw new AppError('unauthenticated', `${headerName} header must be 'Bearer <token>'`)
  return match[1]!
}

export interface RouteEntry {
  method: string
  url: string
  access: RouteAccess | undefined
}

/** Installs authentication and authorisation; returns the route table it sees, filled as routes register. */
export function registerAccessControl(
  app: FastifyInstance,
  authenticate: Authenticate,
  options: {
    vault?: AuthenticateVault
    /** The browser session's token (after its CSRF check), or null; asked only when there is no Authorization header. */
    session?: (request: FastifyRequest) => string | null
  } = {},
): RouteEntry[] {
  const routes: RouteEntry[] = []
  app.decorateRequest('principal', null)
  app.decorateRequest('callerToken', null)

  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/v1/') && !route.config?.access) {
      throw new Error(`route ${String(route.method)} ${route.url} must declare config.access`)
    }
    const access = route.config?.access
    if (route.url.startsWith('/api/') !== Boolean(access && 'vault' in access)) {
      throw new Error(`route ${String(route.method)} ${route.url}: /api routes, and only they, declare config.access { vault: true }`)
    }
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url, access: route.config?.access })
    }
  })

  // onRequest runs before the body is read or validated: an unauthenticated caller learns nothing
  // about the shape a route expects.
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access
    if (!access || 'public' in access) return
    if ('vault' in access) {
      // Fail closed: a vault route in an app built without the vault's check is refused.
      if (!options.vault) throw new AppError('unauthenticated', 'this server cannot check vault tokens')
      return options.vault(request)
    }
    // A bearer token wins over the session cookie: API clients never meet the CSRF check.
    const fromSession = request.headers.authorization === undefined ? (options.session?.(request) ?? null) : null
    const secret = fromSession ?? readBearer(request.headers.authorization, 'Authorization')
    const principal = await authenticate(secret)
    const space = (request.params as { space?: string }).space
    // Another space's token gets the answer a missing space gets, so spaces cannot be probed.
    if (space !== undefined && space !== principal.spaceId) throw notFound('space', space)
    if (!roleAtLeast(principal.role, access.role)) {
      throw forbidden(`this needs the '${access.role}' role; your token acts as a '${principal.role}'`)
    }
    if (!hasScope(principal.scopes, access.scope)) throw forbidden(`your token lacks the scope '${access.scope}'`)
    request.principal = principal
    request.callerToken = secret
  })
  return routes
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthenticated', 'this route needs a token')
  return request.principal
}
