import Fastify, { type FastifyServerOptions } from 'fastify'
import cookie from '@fastify/cookie'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import type { OidcFromConfig } from './config.js'
import type { Db } from './db/db.js'
import { registerAccessControl } from './http/access.js'
import { refuseNulCharacters, registerErrorHandling } from './http/error-handler.js'
import { AppError } from './http/errors.js'
import { registerHealthRoutes, type Lifecycle } from './http/health-routes.js'
import { createRateLimitCounters, databaseRateLimitStore } from './http/rate-limit-store.js'
import { cachedSerializerFactory } from './http/serializers.js'
import { createRequestIds } from './lib/ids.js'
import { createOutboundClient, parseOutboundAllow } from './lib/outbound/index.js'
import { ErrorEnvelope } from './http/schemas.js'
import type { App } from './http/types.js'
import type { CheckpointSigner } from './modules/audit/audit-signer.js'
import { createAuditModule, type AuditLogOptions } from './modules/audit/index.js'
import { createWitnessDir } from './modules/audit/audit-witness.js'
import type { SignInRateLimit } from './modules/auth/auth-routes.js'
import { createAuthModule } from './modules/auth/index.js'
import { sessionTokenOf } from './modules/auth/session-cookies.js'
import { registerConsole } from './http/console-routes.js'
import { createMembersModule } from './modules/members/index.js'
import { createSpacesModule } from './modules/spaces/index.js'
import { createSsoModule } from './modules/sso/index.js'
import { createWebhooksModule } from './modules/webhooks/index.js'
import { createKeysModule, type Kms } from './modules/keys/index.js'
import { createJobsModule } from './modules/jobs/index.js'
import { createResourcesModule } from './modules/resources/index.js'
import { createApprovalsModule } from './modules/approvals/index.js'
import { createChangeFeed, type ChangeFeedOptions } from './db/change-feed.js'
import { createVaultModule, type VaultOptions } from './modules/vault/index.js'
import { MAX_PATH_PARAM_LENGTH } from './modules/vault/records/records-routes.js'

export interface AppDeps {
  db: Db
  signer: CheckpointSigner
  /** The master key (KEK) wrapping data keys, index keys and stored secrets (docs/vault-encryption.md). */
  kms: Kms
  /** During a master key rotation only: the key being rotated away from (it can still unwrap). */
  previousKms?: Kms | null
  logger?: Logger
  clock?: () => Date
  userTokenTtlSeconds?: number
  signInRateLimit?: SignInRateLimit
  bodyLimitBytes?: number
  /** Start with requests held off (503) until `lifecycle.starting` is cleared, as main does after migrating. */
  startGated?: boolean
  /** How long a denial stands before the same request makes a new petition (default 1 h). */
  denialHoldMs?: number
  vault?: VaultOptions
  /** Trust X-Forwarded-For from a reverse proxy (for rate limits and logs). */
  trustProxy?: boolean
  version?: string
  /**
   * GATEHOUSE_OUTBOUND_ALLOW: loopback/private CIDRs and host names that webhooks, external ACLs
   * and delegates may reach. Empty (the default) refuses them all; link-local and metadata
   * addresses are refused whatever is listed.
   */
  outboundAllow?: readonly string[]
  /** The verifiable audit log: log name, checkpoint cadence, sequencer interval, witness directory. */
  auditLog?: AuditLogOptions & { witnessDir?: string }
  /** The change feed between nodes (cache invalidation, wake-ups): its poll interval; tests may drop notifications. */
  changeFeed?: Omit<ChangeFeedOptions, 'db' | 'logger'>
  /**
   * The fallbacks behind the change feed's wake-up hints: how often a long-polling approval() re-reads
   * its petition (default 1 s), the webhook worker polls for due deliveries (default 1 s), and the
   * job runner looks for queued jobs (default 2 s).
   */
  wakeups?: { approvalRecheckMs?: number; webhookPollMs?: number; jobPollMs?: number }
  /** GATEHOUSE_PUBLIC_URL: the base of SSO callback URLs; absent, the request's own scheme and host. */
  publicUrl?: string | null
  /** GATEHOUSE_OIDC_*: a provider of the default space whose client secret stays in configuration. */
  ssoFromConfig?: OidcFromConfig | null
  /** The built web console (packages/console/dist by default); absent, /console answers 503 saying how to build it. */
  consoleDistDir?: string
}

/** Builds the whole HTTP application without listening: tests inject into it, main.ts listens. */
export async function buildApp(deps: AppDeps) {
  const clock = deps.clock ?? (() => new Date())
  const options: FastifyServerOptions = {
    bodyLimit: deps.bodyLimitBytes ?? 1024 * 1024,
    trustProxy: deps.trustProxy ?? false,
    genReqId: createRequestIds(),
    // verbose: each error carries its schema and data, so messages can list allowed values and suggest names.
    ajv: { customOptions: { removeAdditional: false, allErrors: false, verbose: true } },
    schemaController: { compilersFactory: { buildSerializer: cachedSerializerFactory() } },
    // Drain: keep serving in-flight requests on close; idle keep-alive sockets close at once.
    forceCloseConnections: 'idle',
    // A record id is bounded by its route's schema (a 400), not by the router's default 100 (a 414).
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
  }
  const app: App = Fastify({ ...options, ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }) }).withTypeProvider<TypeBoxTypeProvider>()
  const lifecycle: Lifecycle = { starting: deps.startGated ?? false, draining: false }

  // Started by server.ts (and the test harness) after migrations: its version table must exist.
  const changes = createChangeFeed({ db: deps.db, logger: app.log, ...deps.changeFeed })
  const outbound = createOutboundClient({ policy: parseOutboundAllow(deps.outboundAllow ?? []), logger: app.log })
  const witness = deps.auditLog?.witnessDir ? createWitnessDir(deps.auditLog.witnessDir) : null
  const audit = createAuditModule({
    db: deps.db,
    signer: deps.signer,
    clock,
    logger: app.log,
    ...(deps.auditLog ? { options: deps.auditLog } : {}),
    // Late-bound: webhooks is built below, on the audit service. Checkpoints go out through the outbox.
    announce: (tx, spaceId, checkpoint) => webhooks.service.enqueue(tx, spaceId, { type: 'audit/checkpoint', data: { ...checkpoint } }),
    published: (spaceId, checkpoint) => {
      webhooks.service.notify()
      try {
        witness?.(spaceId, checkpoint)
      } catch (error) {
        app.log.error({ err: error, space: spaceId, treeSize: checkpoint.treeSize }, 'could not write the audit checkpoint to the witness directory')
      }
    },
  })
  const keys = createKeysModule({
    db: deps.db,
    kms: deps.kms,
    previousKms: deps.previousKms ?? null,
    clock,
    audit: audit.service,
    // Late-bound: spaces is built below; used only by a master key rotation.
    spaceIds: (q) => spaces.store.list(q, null, 1_000_000).then((found) => found.map((space) => space.id)),
    changes,
  })
  // Background jobs (re-encryption, re-indexing): any node runs them; modules register their kinds on `jobs.runner`.
  const jobs = createJobsModule({ db: deps.db, clock, changes, logger: app.log, ...(deps.wakeups?.jobPollMs !== undefined ? { pollIntervalMs: deps.wakeups.jobPollMs } : {}) })
  const members = createMembersModule({
    db: deps.db,
    audit: audit.service,
    changes,
    // Late-bound: approvals is built below, on the members store; these run only per request.
    userAccess: {
      bindNewUser: (...args) => approvals.service.bindNewUser(...args),
      endUserAccess: (...args) => approvals.service.endUserAccess(...args),
      committed: () => approvals.service.committed(),
    },
  })
  const userAccess = {
    bindNewUser: (...args: Parameters<typeof approvals.service.bindNewUser>) => approvals.service.bindNewUser(...args),
    endUserAccess: (...args: Parameters<typeof approvals.service.endUserAccess>) => approvals.service.endUserAccess(...args),
    committed: () => approvals.service.committed(),
  }
  const sso = createSsoModule({ db: deps.db, audit: audit.service, auth: () => auth.service, members: members.store, userAccess, outbound, clock, publicUrl: deps.publicUrl ?? null, fromConfig: deps.ssoFromConfig ?? null, changes, secrets: keys.service })
  const auth = createAuthModule({
    db: deps.db,
    audit: audit.service,
    members: members.store,
    clock,
    userTokenTtlSeconds: deps.userTokenTtlSeconds ?? 3600,
    signInRateLimit: deps.signInRateLimit ?? { max: 10, timeWindowMs: 60_000 },
    passwordSignInAllowed: sso.passwordSignInAllowed,
    changes,
  })
  const spaces = createSpacesModule({ db: deps.db, audit: audit.service, auth: auth.service, members: members.store })
  const webhooks = createWebhooksModule({ db: deps.db, audit: audit.service, clock, logger: app.log, pollIntervalMs: deps.wakeups?.webhookPollMs ?? 1000, outbound, changes, secrets: keys.service })
  const resources = createResourcesModule({ db: deps.db, audit: audit.service })
  const approvals = createApprovalsModule({
    db: deps.db,
    audit: audit.service,
    members: members.store,
    directory: members.directory,
    resources: resources.store,
    events: webhooks.service,
    clock,
    denialHoldMs: deps.denialHoldMs,
    outbound,
    changes,
    ...(deps.wakeups?.approvalRecheckMs !== undefined ? { recheckMs: deps.wakeups.approvalRecheckMs } : {}),
  })
  const vault = createVaultModule({ db: deps.db, audit: audit.service, clock, authenticate: auth.service.authenticate, grants: approvals.grantLookup, outbound, changes, secrets: keys.service, fieldKeys: keys.fieldKeys, keyRotation: keys.service, jobs: { service: jobs.service, runner: jobs.runner },
    // A conversion job starts once every node has seen its model change or stopped trusting its
    // cache (two poll intervals, docs/nodes.md), with a second for requests already in flight.
    conversionDelayMs: 2 * (deps.changeFeed?.pollIntervalMs ?? 100) + 1_000,
    keyJobDelayMs: 2 * (deps.changeFeed?.pollIntervalMs ?? 100) + 1_000,
    ...deps.vault,
  })

  // The hooks every request runs are synchronous (done-callback) where they need not wait: an async
  // hook costs a promise and a microtask turn per request for nothing.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    // While draining, a finished response also ends its keep-alive socket, so close() need not
    // wait for the client's idle timeout.
    if (lifecycle.draining) reply.header('connection', 'close')
    done(null, payload)
  })
  registerErrorHandling(app)
  refuseNulCharacters(app)
  app.addHook('onRequest', (request, _reply, done) => {
    if (lifecycle.starting && request.url !== '/healthz' && request.url !== '/readyz') {
      return done(new AppError('unavailable', 'starting: migrations are running; retry in a moment'))
    }
    done()
  })
  // Cookies are parsed before the access hook runs: the console's session lives in one.
  await app.register(cookie)
  const routes = registerAccessControl(app, auth.service.authenticate, { vault: vault.authenticateRequest, session: sessionTokenOf })

  for (const schema of [ErrorEnvelope, ...audit.schemas, ...auth.schemas, ...sso.schemas, ...resources.schemas, ...approvals.schemas, ...vault.schemas, ...jobs.schemas]) app.addSchema(schema)

  await app.register(rateLimit, {
    global: false,
    // Counted in the database: every node on one PostgreSQL shares each budget (on PGlite, the one process).
    store: databaseRateLimitStore(createRateLimitCounters(deps.db)),
    errorResponseBuilder: (_request, context) => new AppError('rate_limited', `too many attempts; try again in ${context.after}`),
  })
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse',
        version: deps.version ?? '0.1.0',
        description: 'Least-privilege access to customer data. Every error has the shape `{ error: { code, message, requestId, details? } }`.',
      },
      components: { securitySchemes: { vaultToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A vault token from POST /oauth/token' }, bearerAuth: { type: 'http', scheme: 'bearer', description: 'A user access token (`ghu_…`) or a service-account token (`ghs_…`)' } } },
    },
    // Shared schemas keep their $id as their component name (Petition, Grant, …): the SDK's
    // generated types are named after them.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const access = route.config?.access
      const secured = access && 'role' in access
      return { schema: secured ? { ...schema, security: [{ bearerAuth: [] }] } : schema, url }
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  app.get('/openapi.json', { schema: { hide: true }, config: { access: { public: true } } }, async () => app.swagger())
  registerHealthRoutes(app, { db: deps.db, lifecycle })
  audit.register(app)
  members.register(app)
  auth.register(app)
  sso.register(app)
  spaces.register(app)
  webhooks.register(app)
  resources.register(app)
  approvals.register(app)
  vault.register(app)
  jobs.register(app)
  await registerConsole(app, { distDir: deps.consoleDistDir })
  // The worker stops first, so no delivery is attempted through a closed client (and recorded as failed).
  app.addHook('onClose', async () => {
    await jobs.runner.stop()
    await audit.sequencer.stop()
    await webhooks.worker.stop()
    await outbound.close()
    await changes.stop()
  })

  await app.ready()
  return {
    app,
    lifecycle,
    routes,
    services: {
      audit: audit.service,
      auth: auth.service,
      sso: sso.service,
      members: members.service,
      spaces: spaces.service,
      webhooks: webhooks.service,
      resources: resources.service,
      approvals: approvals.service,
      policies: approvals.policies,
      vault: vault.services,
      keys: keys.service,
      /** The vault's field keys, from this node's cache (what the data path reads). */
      fieldKeys: keys.fieldKeys,
      jobs: jobs.service,
    },
    /** Runs background jobs: started by server.ts after migrations; tests drive their own runners. */
    jobRunner: jobs.runner,
    /** Started by server.ts after migrations; tests run their own workers. */
    webhookWorker: webhooks.worker,
    /** The audit log's background sequencer: started by server.ts after migrations; tests integrate on demand. */
    auditSequencer: audit.sequencer,
    /** Change hints between nodes: started after migrations, stopped with the app. */
    changes,
    /** The one way out (webhooks, external ACL, delegate); closed with the app. */
    outbound,
  }
}

export type BuiltApp = Awaited<ReturnType<typeof buildApp>>
