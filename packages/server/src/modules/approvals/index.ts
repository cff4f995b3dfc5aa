import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db } from '../../db/db.js'
import type { App } from '../../http/types.js'
import type { OutboundClient } from '../../lib/outbound/index.js'
import type { AuditService } from '../audit/audit-service.js'
import type { MembersDirectory } from '../members/members-directory.js'
import type { MembersStore } from '../members/members-store.js'
import type { ResourcesStore } from '../resources/resources-store.js'
import { registerApprovalsRoutes } from './approvals-routes.js'
import { approvalsSchemas } from './approvals-schemas.js'
import { createApprovalsService } from './approvals-service.js'
import { createApprovalsStore } from './approvals-store.js'
import type { AccessEventSink, GrantLookup } from './approvals-types.js'
import { createDecisionWaiter } from './decision-waiter.js'
import { createPetitionDecisions } from './petition-decisions.js'
import { registerPoliciesRoutes } from './policies-routes.js'
import { createPoliciesService } from './policies-service.js'
import { createPoliciesStore } from './policies-store.js'

export function createApprovalsModule(deps: {
  db: Db
  audit: AuditService
  members: MembersStore
  directory: MembersDirectory
  resources: ResourcesStore
  events: AccessEventSink
  clock: () => Date
  denialHoldMs?: number
  /** Decisions are announced on it after their commit, and long-polls on every node wake on them. */
  changes: Pick<ChangeFeed, 'announce' | 'subscribe'>
  /** How often a long-poll re-reads its petition when no hint arrives (default 1 s). */
  recheckMs?: number
  /** Delegate calls go out through it; its policy also checks delegate URLs when a policy is saved. */
  outbound: OutboundClient
}) {
  const store = createApprovalsStore()
  const policiesStore = createPoliciesStore()
  const decisions = createPetitionDecisions({ store, audit: deps.audit, events: deps.events })
  const service = createApprovalsService({
    db: deps.db,
    store,
    policies: policiesStore,
    resources: deps.resources,
    members: deps.members,
    directory: deps.directory,
    decisions,
    eventsCommitted: () => deps.events.notify(),
    waiter: createDecisionWaiter(deps.changes),
    ...(deps.recheckMs !== undefined ? { recheckMs: deps.recheckMs } : {}),
    clock: deps.clock,
    denialHoldMs: deps.denialHoldMs ?? 3600_000,
    outbound: deps.outbound,
  })
  const policies = createPoliciesService({ db: deps.db, store: policiesStore, audit: deps.audit, outboundPolicy: deps.outbound.policy })
  /** What the vault's `grants` ACL may ask: through this interface, never the store's SQL. */
  const grantLookup: GrantLookup = { database: deps.db, activeResourceIds: store.activeResourceIds, coveringGrants: store.coveringGrants, grantsCovering: store.grantsCovering }
  return {
    store,
    grantLookup,
    service,
    policies,
    schemas: approvalsSchemas,
    register(app: App) {
      registerApprovalsRoutes(app, { approvals: service })
      registerPoliciesRoutes(app, { policies })
    },
  }
}
