import { runInTransaction, type Db, type Queryable } from '../../db/db.js'
import { constraintMessage } from '../../db/db-errors.js'
import { notFound } from '../../http/errors.js'
import { newId } from '../../lib/ids.js'
import { keysetPage } from '../../lib/paging.js'
import type { AuditService } from '../audit/audit-service.js'
import type { AuditActor } from '../audit/audit-types.js'
import type { AuthService } from '../auth/auth-service.js'
import type { Principal, TokenScope } from '../auth/auth-types.js'
import { assertMayProduce } from '../auth/credential-policy.js'
import type { MembersStore } from '../members/members-store.js'
import type { SpacesStore } from './spaces-store.js'
import { DEFAULT_SPACE_ID, type CreatedSpace, type Space } from './spaces-types.js'

export interface SpacesServiceDeps {
  db: Db
  store: SpacesStore
  members: Pick<MembersStore, 'insertServiceAccount'>
  auth: Pick<AuthService, 'issueBootstrapToken'>
  audit: Pick<AuditService, 'initSpace' | 'append'>
}

export const SYSTEM_ACTOR: AuditActor = { kind: 'system', id: 'gatehouse' }

export function createSpacesService({ db, store, members, auth, audit }: SpacesServiceDeps) {
  /** A space, its audit chain, and an `admin` service account with one token, in the caller's transaction. */
  async function createIn(tx: Queryable, input: { id: string; displayName: string }, actor: AuditActor, scopes: TokenScope[]): Promise<CreatedSpace> {
    const space = await store.insert(tx, input)
    await audit.initSpace(tx, space.id)
    await audit.append(tx, space.id, {
      event: 'space/create',
      actor,
      resources: [{ kind: 'space', id: space.id }],
      meta: { displayName: space.displayName },
    })
    const accountId = newId('sa')
    await members.insertServiceAccount(tx, space.id, { id: accountId, name: 'admin', description: 'Created with the space', role: 'admin' })
    await audit.append(tx, space.id, {
      event: 'service_account/create',
      actor,
      resources: [{ kind: 'service_account', id: accountId }],
      meta: { name: 'admin', role: 'admin' },
    })
    const adminToken = await auth.issueBootstrapToken(tx, space.id, accountId, scopes, actor)
    return { space, adminToken }
  }

  return {
    async create(by: Principal, input: { id: string; displayName?: string }): Promise<CreatedSpace> {
      // The new space's admin token acts as 'admin' with '*': its creator must hold that too.
      assertMayProduce(by, { role: 'admin', scopes: ['*'] }, `space '${input.id}', whose admin token is 'admin' with '*'`)
      try {
        return await db.transaction(async (tx) => {
          const created = await createIn(tx, { id: input.id, displayName: input.displayName ?? input.id }, by.actor, ['*'])
          // The creator's own space records it too, so its admins see the spaces they made.
          await audit.append(tx, by.spaceId, { event: 'space/create', actor: by.actor, resources: [{ kind: 'space', id: input.id }] })
          return created
        })
      } catch (error) {
        throw constraintMessage(error, { unique: `a space with id '${input.id}' already exists` })
      }
    },

    async get(spaceId: string): Promise<Space> {
      return (await store.get(db, spaceId)) ?? Promise.reject(notFound('space', spaceId))
    },

    async list(cursor: string | null, limit: number) {
      const { items, nextCursor } = await keysetPage((n) => store.list(db, cursor, n), limit)
      return { spaces: items, nextCursor }
    },

    /**
     * On an empty store, creates the space `default` and returns its one-time admin token, whose
     * scopes include `instance:admin` (creating further spaces). Runs under the migration lock, so
     * two processes starting together on one empty database create it once.
     */
    async bootstrapIfEmpty(conn: Queryable): Promise<CreatedSpace | null> {
      if ((await store.count(conn)) > 0) return null
      return runInTransaction(conn, (tx) =>
        createIn(tx, { id: DEFAULT_SPACE_ID, displayName: 'Default space' }, SYSTEM_ACTOR, ['*', 'instance:admin']),
      )
    },
  }
}

export type SpacesService = ReturnType<typeof createSpacesService>
