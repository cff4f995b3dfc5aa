import type { IssuedToken } from '../auth/auth-types.js'

export interface Space {
  id: string
  displayName: string
  createdAt: string
}

export interface CreatedSpace {
  space: Space
  /** A token of the new space's `admin` service account, shown once. */
  adminToken: IssuedToken
}

export const DEFAULT_SPACE_ID = 'default'
