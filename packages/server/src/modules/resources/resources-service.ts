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

/** Names an object literal would not keep as plain keys: refused as label names, never silently dropped. */
export const RESERVED_LABEL_NAMES: readonly string[] = ['__proto__', 'constructor', 'prototype']
const LABEL_NAME = /^[A-Za-z0-9_./-]{1,63}$/

/**
 * `plan:pro` → { plan: 'pro' }; the value may itself contain colons. The result has no prototype,
 * and a name that is not a label name is a 400 naming it (before, `__proto__:x` vanished and the
 * filter matched every resource).
 */
export function parseLabelFilters(filters: string[]): Record<string, string> {
  const labels: Record<string, string> = Object.create(null) as Record<string, string>
  for (const [index, filter] of filters.entries()) {
    const at = filter.indexOf(':')
    const name = at < 0 ? filter : filter.slice(0, at)
    if (at < 0 || !LABEL_NAME.test(name) || RESERVED_LABEL_NAMES.includes(name)) {
      const why = at < 0 ? "a label filter is 'name:value'" : RESERVED_LABEL_NAMES.includes(name) ? `'${name}' is reserved and cannot be a label name` : `'${name.slice(0, 63)}' is not a label name (1 to 63 of A-Z a-z 0-9 _ . / -)`
      throw new AppError('validation_failed', `querystring.label.${index}: ${why}`, { issues: [{ path: `querystring.label.${index}`, message: why }] })
    }
    labels[name] = filter.slice(at + 1)
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
        const { created, updated } = await store.upsertMany(tx, by.spaceId, resources)
        const count = created + updated
        if (count > 0) {
          await audit.append(tx, by.spaceId, {
            event: 'resource/bulk_update',
            actor: by.actor,
            resources: resources.slice(0, AUDITED_REFS).map(({ kind, id }) => ({ kind, id })),
            meta: { received: resources.length, changed: count, created, updated, unchanged: resources.length - count, truncated: resources.length > AUDITED_REFS },
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
