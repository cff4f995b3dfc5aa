export const VAULT_ACTIONS = ['read', 'write', 'delete'] as const
export type VaultAction = (typeof VAULT_ACTIONS)[number]

export const MASKS = ['last4', 'email', 'full'] as const
export type Mask = (typeof MASKS)[number]

export type AclSource = { source: 'none' } | { source: 'external'; url: string; timeoutMs?: number } | { source: 'grants'; resourceKind: string; field: string }

/** What one access policy lets its clients do with one model. */
export interface ModelRule {
  actions: VaultAction[]
  /** Fields that may appear in responses and filters; absent means all. */
  readable?: string[]
  /**
   * Fields that may be used in filters and sorts though they are never returned — an oracle the
   * admin accepts on purpose (InCountry's search keys work this way). Reference 004 filters on
   * `yearly_spending` without ever showing it.
   */
  filterable?: string[]
  /** Fields a write may set; absent means all. */
  writable?: string[]
  masked?: Record<string, Mask>
  /** Rows outside this filter do not exist for these clients. */
  rowFilter?: Record<string, unknown>
  acl: AclSource
}

export interface VaultPolicy {
  id: string
  name: string
  rules: Record<string, ModelRule>
  createdAt: string
  updatedAt: string
}
