import type { Db } from '../../db/db.js'
import { AppError, notFound } from '../../http/errors.js'
import { decodeCursor, encodeCursor } from '../../lib/cursor.js'
import type { AuditService } from '../audit/audit-service.js'
import type { Principal } from '../auth/auth-types.js'
import type { ResourcesStore } from './resources-store.js'
import type { Resource, ResourceInput, ResourceRef } from './resources-types.js'

export interface ResourcesServiceDeps {
  db: Db
  store: ResourcesStore
  audit: Pick<AuditService, 'append'>
}

/** How many resource ids an audit event names; the count is always exact. */
const AUDITED_REFS = 20

const encodeRefCursor = (ref: ResourceRef) => encodeCursor([ref.kind, ref.id])

const decodeRefCursor = (cursor: string): ResourceRef =>
  decodeCursor(cursor, (value) => {
    const [kind, id] = Array.isArray(value) ? value : []
    return typeof kind === 'string' && typeof id === 'string' ? { kind, id } : null
  })

/** `plan:pro` → { plan: 'pro' }; the value may itself contain colons. */
export function parseLabelFilters(filters: string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const filter of filters) {
    const at = filter.indexOf(':')
    labels[filter.slice(0, at)] = filter.slice(at + 1)
  }
  return labels
}

export function createResourcesService({ db, store, audit }: ResourcesServiceDeps) {
  return {
    /**
     * Upserts one batch atomically: all of it or none of it. Repeating a batch changes nothing and
     * records nothing, so a retried upload is harmless.
     */
    async bulkUpdate(by: Principal, resources: ResourceInput[]): Promise<{ received: number; changed: number }> {
      const seen = new Map<string, number>()
      resources.forEach((resource, index) => {
        const key = `${resource.kind}\u0000${resource.id}`
        const first = seen.get(key)
        if (first !== undefined) {
          throw new AppError('validation_failed', `body.resources.${index}: duplicates body.resources.${first} (${resource.kind}:${resource.id})`, {
            issues: [{ path: `body.resources.${index}`, message: `duplicates body.resources.${first}` }],
          })
        }
        seen.set(key, index)
      })
      const changed = await db.transaction(async (tx) => {
        const count = await store.upsertMany(tx, by.spaceId, resources)
        if (count > 0) {
          await audit.append(tx, by.spaceId, {
            event: 'resource/bulk_update',
            actor: by.actor,
            resources: resources.slice(0, AUDITED_REFS).map(({ kind, id }) => ({ kind, id })),
            meta: { received: resources.length, changed: count, truncated: resources.length > AUDITED_REFS },
          })
        }
        return count
      })
      return { received: resources.length, changed }
    },

    async get(spaceId: string, ref: ResourceRef): Promise<Resource> {
      return (await store.get(db, spaceId, ref)) ?? Promise.reject(notFound('resource', `${ref.kind}:${ref.id}`))
    },

    async list(spaceId: string, filter: { kind?: string; labels?: Record<string, string> }, cursor: string | undefined, limit: number) {
      const rows = await store.list(db, spaceId, filter, cursor ? decodeRefCursor(cursor) : null, limit + 1)
      const resources = rows.slice(0, limit)
      const last = resources[resources.length - 1]
      return { resources, nextCursor: rows.length > limit && last ? encodeRefCursor(last) : null }
    },

    async delete(by: Principal, ref: ResourceRef): Promise<void> {
      await db.transaction(async (tx) => {
        if (!(await store.delete(tx, by.spaceId, ref))) throw notFound('resource', `${ref.kind}:${ref.id}`)
        await audit.append(tx, by.spaceId, { event: 'resource/delete', actor: by.actor, resources: [ref] })
      })
    },
  }
}

export type ResourcesService = ReturnType<typeof createResourcesService>
