import type { RouteDef } from '../../routes'
import { UsersScreen } from '../users/users-screen'
import { GroupsScreen } from '../groups/groups-screen'
import { ServiceAccountsScreen } from '../service-accounts/service-accounts-screen'
import { PoliciesScreen } from '../policies/policies-screen'
import { VaultPoliciesScreen } from '../vault-policies/vault-policies-screen'
import { WebhooksScreen } from '../webhooks/webhooks-screen'

/** The admin screens, registered in routes.tsx with one line; only admins see them in the navigation. */
export const adminRoutes: RouteDef[] = [
  { path: '/admin/users', label: 'Users', role: 'admin', screen: UsersScreen },
  { path: '/admin/groups', label: 'Groups', role: 'admin', screen: GroupsScreen },
  { path: '/admin/service-accounts', label: 'Service accounts', role: 'admin', screen: ServiceAccountsScreen },
  { path: '/admin/policies', label: 'Access policies', role: 'admin', screen: PoliciesScreen },
  { path: '/admin/vault-policies', label: 'Vault policies', role: 'admin', screen: VaultPoliciesScreen },
  { path: '/admin/webhooks', label: 'Webhooks', role: 'admin', screen: WebhooksScreen },
]
