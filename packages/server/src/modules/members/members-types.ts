import type { Role } from '../auth/auth-types.js'

export interface User {
  id: string
  email: string
  name: string
  role: Role
  hasPassword: boolean
  groups: string[]
  createdAt: string
  updatedAt: string
}

export interface Group {
  id: string
  name: string
  description: string
  members: string[]
  createdAt: string
}

export interface ServiceAccount {
  id: string
  name: string
  description: string
  role: Role
  createdAt: string
}

export interface NewUser {
  email: string
  name: string
  role: Role
  password?: string
}

export interface UserChanges {
  name?: string
  role?: Role
  password?: string
}
