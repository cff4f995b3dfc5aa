import type { ComponentType } from 'react'
import type { Role } from './session'
import { RequestScreen } from './screens/request/request-screen'
import { InboxScreen } from './screens/inbox/inbox-screen'
import { GrantsScreen } from './screens/grants/grants-screen'
import { VaultScreen } from './screens/vault/vault-screen'
import { AuditScreen } from './screens/audit/audit-screen'
import { adminRoutes } from './screens/admin/admin-routes'

/**
 * The console's screens: one line each. `role` is the least role that sees the screen in the
 * navigation (the server decides what each call may do; this only keeps the menu honest).
 */
export interface RouteDef {
  path: string
  label: string
  role: Role
  screen: ComponentType
}

export const routes: RouteDef[] = [
  { path: '/request', label: 'Request access', role: 'member', screen: RequestScreen },
  { path: '/inbox', label: 'Inbox', role: 'reviewer', screen: InboxScreen },
  { path: '/grants', label: 'Grants', role: 'member', screen: GrantsScreen },
  { path: '/vault', label: 'Vault explorer', role: 'member', screen: VaultScreen },
  { path: '/audit', label: 'Audit', role: 'reviewer', screen: AuditScreen },
  // Admin screens (users, groups, service accounts, policies, webhooks) add their lines here.
  ...adminRoutes,
]

const RANK: Record<Role, number> = { member: 1, reviewer: 2, admin: 3 }
export const roleAtLeast = (held: Role, needed: Role) => RANK[held] >= RANK[needed]

/** The landing screen after sign-in: reviewers start at their inbox, others at Request access. */
export const homeFor = (role: Role) => (roleAtLeast(role, 'reviewer') ? '/inbox' : '/request')
