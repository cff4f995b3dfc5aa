export interface Resource {
  kind: string
  id: string
  displayName: string
  labels: Record<string, string>
  createdAt: string
  updatedAt: string
}

export interface ResourceInput {
  kind: string
  id: string
  displayName?: string
  labels?: Record<string, string>
}

export interface ResourceRef {
  kind: string
  id: string
}

export const MAX_BULK_RESOURCES = 1000
