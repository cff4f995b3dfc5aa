import type { Db } from '../../db/db.js'
import { constraintMessage } from '../../db/db-errors.js'
import { conflict, forbidden, notFound } from '../../http/errors.js'
import { newId } from '../../lib/ids.js'
import { keysetPage as page } from '../../lib/paging.js'
import { hashPassword } from '../../lib/secrets.js'
import type { AuditService } from '../audit/audit-service.js'
import type { Principal, Role } from '../auth/auth-types.js'
import { assertMayProduce } from '../auth/credential-policy.js'
import type { ChangeFeed } from '../../db/change-feed.js'
import { AUTH_TOPIC } from '../auth/auth-types.js'
import { membersTopic } from './members-directory.js'
import type { MembersStore } from './members-store.js'
import type { Group, NewUser, ServiceAccount, User, UserAccessHooks, UserChanges } from './members-types.js'

export interface MembersServiceDeps {
  db: Db
  store: MembersStore
  audit: Pick<AuditService, 'append'>
  userAccess: UserAccessHooks
  /** Users and service accounts back tokens and approval(): their changes invalidate caches on every node. */
  changes: Pick<ChangeFeed, 'touch' | 'announce'>
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase()

const membershipRefs = (groupId: string, userId: string) => [
  { kind: 'group', id: groupId },
  { kind: 'user', id: userId },
]

export function createMembersService({ db, store, audit, userAccess, changes: feed }: MembersServiceDeps) {
  const mustGetUser = async (spaceId: string, userId: string) =>
    (await store.getUser(db, spaceId, userId)) ?? Promise.reject(notFound('user', userId))
  const mustGetGroup = async (spaceId: string, groupId: string) =>
    (await store.getGroup(db, spaceId, groupId)) ?? Promise.reject(notFound('group', groupId))

  return {
    async createUser(by: Principal, input: NewUser): Promise<User> {
      const id = newId('usr')
      const email = normaliseEmail(input.email)
      // A password is a way to sign in as the user: a token with the user's role and every scope.
      if (input.password) assertMayProduce(by, { role: input.role, scopes: ['*'] }, `a user with a password who is '${input.role}'`)
      // Hash before the transaction: no slow crypto while holding locks.
      const passwordHash = input.password ? await hashPassword(input.password) : null
      try {
        await db.transaction(async (tx) => {
          await store.insertUser(tx, by.spaceId, { id, email, name: input.name, role: input.role, passwordHash })
          await audit.append(tx, by.spaceId, {
            event: 'user/create',
            actor: by.actor,
            resources: [{ kind: 'user', id }],
            meta: { email, role: input.role, password: passwordHash !== null },
          })
          await userAccess.bindNewUser(tx, by.spaceId, id, email)
          await feed.touch(tx, membersTopic(by.spaceId))
        })
      } catch (error) {
        throw constraintMessage(error, { unique: `a user with email '${email}' already exists in this space` })
      }
      feed.announce(membersTopic(by.spaceId))
      return mustGetUser(by.spaceId, id)
    },

    getUser: (spaceId: string, userId: string) => mustGetUser(spaceId, userId),

    listUsers: (spaceId: string, cursor: string | null, limit: number) =>
      page((n) => store.listUsers(db, spaceId, cursor, n), limit),

    async updateUser(by: Principal, userId: string, changes: UserChanges): Promise<User> {
      const passwordHash = changes.password ? await hashPassword(changes.password) : undefined
      await db.transaction(async (tx) => {
        // A new password signs in as the user; a new role is carried by every token the user has or
        // gets. Either produces a credential with the user's (new) role and every scope.
        if (changes.password !== undefined || changes.role !== undefined) {
          const current = await store.getUser(tx, by.spaceId, userId)
          if (!current) throw notFound('user', userId)
          const role = changes.role ?? current.role
          const what = changes.password !== undefined ? `a password for user ${userId}, who is '${role}'` : `user ${userId} as '${role}'`
          assertMayProduce(by, { role, scopes: ['*'] }, what)
        }
        const updated = await store.updateUser(tx, by.spaceId, userId, { name: changes.name, role: changes.role, passwordHash })
        if (!updated) throw notFound('user', userId)
        await audit.append(tx, by.spaceId, {
          event: 'user/update',
          actor: by.actor,
          resources: [{ kind: 'user', id: userId }],
          meta: { name: changes.name, role: changes.role, passwordChanged: passwordHash !== undefined },
        })
        // Tokens carry the user's role as read: a new one must reach every node's token cache.
        if (changes.role !== undefined) await feed.touch(tx, AUTH_TOPIC)
      })
      if (changes.role !== undefined) feed.announce(AUTH_TOPIC)
      return mustGetUser(by.spaceId, userId)
    },

    /**
     * Deleting a user also deletes their tokens and group memberships (they stop working at once),
     * and in the same transaction revokes their grants and cancels their open petitions (reason
     * `user_deleted`), so nothing they held passes to a later user with the same email.
     */
    async deleteUser(by: Principal, userId: string): Promise<void> {
      await db.transaction(async (tx) => {
        if (!(await store.lockUser(tx, by.spaceId, userId))) throw notFound('user', userId)
        await userAccess.endUserAccess(tx, by.spaceId, userId, by.actor, 'user_deleted')
        await store.deleteUser(tx, by.spaceId, userId)
        await audit.append(tx, by.spaceId, { event: 'user/delete', actor: by.actor, resources: [{ kind: 'user', id: userId }] })
        await feed.touch(tx, AUTH_TOPIC, membersTopic(by.spaceId))
      })
      feed.announce(AUTH_TOPIC, membersTopic(by.spaceId))
      userAccess.committed()
    },

    /**
     * A deactivated user cannot sign in and their tokens stop working; their grants are revoked and
     * their open petitions cancelled (reason `user_deactivated`) in the same transaction.
     * Deactivating a deactivated user changes and records nothing. There is no reactivation: a
     * token issued before must never work again; delete the user and create them anew instead.
     */
    async deactivateUser(by: Principal, userId: string): Promise<User> {
      if (by.userId === userId) throw forbidden('you cannot deactivate yourself: ask another admin')
      await db.transaction(async (tx) => {
        const user = await store.lockUser(tx, by.spaceId, userId)
        if (!user) throw notFound('user', userId)
        if (user.disabledAt) return
        await store.setUserDisabled(tx, by.spaceId, userId, new Date())
        await userAccess.endUserAccess(tx, by.spaceId, userId, by.actor, 'user_deactivated')
        await audit.append(tx, by.spaceId, { event: 'user/deactivate', actor: by.actor, resources: [{ kind: 'user', id: userId }] })
        await feed.touch(tx, AUTH_TOPIC, membersTopic(by.spaceId))
      })
      feed.announce(AUTH_TOPIC, membersTopic(by.spaceId))
      userAccess.committed()
      return mustGetUser(by.spaceId, userId)
    },

    async createGroup(by: Principal, input: { name: string; description?: string }): Promise<Group> {
      const id = newId('grp')
      try {
        await db.transaction(async (tx) => {
          await store.insertGroup(tx, by.spaceId, { id, name: input.name, description: input.description ?? '' })
          await audit.append(tx, by.spaceId, {
            event: 'group/create',
            actor: by.actor,
            resources: [{ kind: 'group', id }],
            meta: { name: input.name },
          })
        })
      } catch (error) {
        throw constraintMessage(error, { unique: `a group named '${input.name}' already exists in this space` })
      }
      return mustGetGroup(by.spaceId, id)
    },

    getGroup: (spaceId: string, groupId: string) => mustGetGroup(spaceId, groupId),

    listGroups: (spaceId: string, cursor: string | null, limit: number) =>
      page((n) => store.listGroups(db, spaceId, cursor, n), limit),

    async deleteGroup(by: Principal, groupId: string): Promise<void> {
      await db.transaction(async (tx) => {
        if (!(await store.deleteGroup(tx, by.spaceId, groupId))) throw notFound('group', groupId)
        await audit.append(tx, by.spaceId, { event: 'group/delete', actor: by.actor, resources: [{ kind: 'group', id: groupId }] })
      })
    },

    /** Idempotent: adding a member twice changes nothing and records nothing the second time. */
    async addGroupMember(by: Principal, groupId: string, userId: string): Promise<Group> {
      await mustGetGroup(by.spaceId, groupId)
      await mustGetUser(by.spaceId, userId)
      await db.transaction(async (tx) => {
        if (!(await store.addGroupMember(tx, by.spaceId, groupId, userId))) return
        await audit.append(tx, by.spaceId, { event: 'group/member_add', actor: by.actor, resources: membershipRefs(groupId, userId) })
      })
      return mustGetGroup(by.spaceId, groupId)
    },

    async removeGroupMember(by: Principal, groupId: string, userId: string): Promise<Group> {
      await db.transaction(async (tx) => {
        if (!(await store.removeGroupMember(tx, by.spaceId, groupId, userId))) {
          throw notFound('membership', `${groupId}/${userId}`)
        }
        await audit.append(tx, by.spaceId, { event: 'group/member_remove', actor: by.actor, resources: membershipRefs(groupId, userId) })
      })
      return mustGetGroup(by.spaceId, groupId)
    },

    async createServiceAccount(by: Principal, input: { name: string; description?: string; role: Role }): Promise<ServiceAccount> {
      const id = newId('sa')
      try {
        await db.transaction(async (tx) => {
          await store.insertServiceAccount(tx, by.spaceId, { id, name: input.name, description: input.description ?? '', role: input.role })
          await audit.append(tx, by.spaceId, {
            event: 'service_account/create',
            actor: by.actor,
            resources: [{ kind: 'service_account', id }],
            meta: { name: input.name, role: input.role },
          })
        })
      } catch (error) {
        throw constraintMessage(error, { unique: `a service account named '${input.name}' already exists in this space` })
      }
      return (await store.getServiceAccount(db, by.spaceId, id))!
    },

    getServiceAccount: async (spaceId: string, accountId: string) =>
      (await store.getServiceAccount(db, spaceId, accountId)) ?? Promise.reject(notFound('service account', accountId)),

    listServiceAccounts: (spaceId: string, cursor: string | null, limit: number) =>
      page((n) => store.listServiceAccounts(db, spaceId, cursor, n), limit),

    /** Its tokens go with it, so they stop working at once. */
    async deleteServiceAccount(by: Principal, accountId: string): Promise<void> {
      await db.transaction(async (tx) => {
        if (!(await store.deleteServiceAccount(tx, by.spaceId, accountId))) throw notFound('service account', accountId)
        await audit.append(tx, by.spaceId, {
          event: 'service_account/delete',
          actor: by.actor,
          resources: [{ kind: 'service_account', id: accountId }],
        })
        await feed.touch(tx, AUTH_TOPIC)
      })
      feed.announce(AUTH_TOPIC)
    },
  }
}

export type MembersService = ReturnType<typeof createMembersService>
