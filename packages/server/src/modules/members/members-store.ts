import type { Queryable } from '../../db/db.js'
import type { Role } from '../auth/auth-types.js'
import type { Group, ServiceAccount, User } from './members-types.js'

interface UserRow {
  id: string
  email: string
  name: string
  role: Role
  password_hash: string | null
  disabled_at: Date | null
  groups: string[] | null
  created_at: Date
  updated_at: Date
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  email: row.email,
  name: row.name,
  role: row.role,
  hasPassword: row.password_hash !== null,
  groups: row.groups ?? [],
  disabledAt: row.disabled_at?.toISOString() ?? null,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
})

const USER_SELECT = `SELECT u.id, u.email, u.name, u.role, u.password_hash, u.disabled_at, u.created_at, u.updated_at,
  (SELECT coalesce(jsonb_agg(gm.group_id ORDER BY gm.group_id), '[]'::jsonb) FROM group_members gm
    WHERE gm.space_id = u.space_id AND gm.user_id = u.id) AS groups
  FROM users u`

interface GroupRow {
  id: string
  name: string
  description: string
  members: string[] | null
  created_at: Date
}

const toGroup = (row: GroupRow): Group => ({
  id: row.id,
  name: row.name,
  description: row.description,
  members: row.members ?? [],
  createdAt: row.created_at.toISOString(),
})

const GROUP_SELECT = `SELECT g.id, g.name, g.description, g.created_at,
  (SELECT coalesce(jsonb_agg(gm.user_id ORDER BY gm.user_id), '[]'::jsonb) FROM group_members gm
    WHERE gm.space_id = g.space_id AND gm.group_id = g.id) AS members
  FROM groups g`

interface ServiceAccountRow {
  id: string
  name: string
  description: string
  role: Role
  created_at: Date
}

const toServiceAccount = (row: ServiceAccountRow): ServiceAccount => ({
  id: row.id,
  name: row.name,
  description: row.description,
  role: row.role,
  createdAt: row.created_at.toISOString(),
})

/** Keyset pages ordered by id; `after` is the last id of the previous page. `column` is a fixed name, never input. */
const pageClause = (column: string, after: string | null) =>
  after === null ? { sql: '', params: [] as unknown[] } : { sql: ` AND ${column} > $3`, params: [after] as unknown[] }

export function createMembersStore() {
  return {
    async insertUser(tx: Queryable, spaceId: string, user: { id: string; email: string; name: string; role: Role; passwordHash: string | null }) {
      await tx.query('INSERT INTO users (space_id, id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5, $6)', [
        spaceId,
        user.id,
        user.email,
        user.name,
        user.role,
        user.passwordHash,
      ])
    },

    async getUser(db: Queryable, spaceId: string, userId: string): Promise<User | null> {
      const { rows } = await db.query<UserRow>(`${USER_SELECT} WHERE u.space_id = $1 AND u.id = $2`, [spaceId, userId])
      return rows[0] ? toUser(rows[0]) : null
    },

    /** The password hash is read only here, for sign-in, and never leaves the auth service. */
    async findUserForSignIn(db: Queryable, spaceId: string, email: string) {
      const { rows } = await db.query<{ id: string; email: string; role: Role; password_hash: string | null; disabled_at: Date | null }>(
        'SELECT id, email, role, password_hash, disabled_at FROM users WHERE space_id = $1 AND email = $2',
        [spaceId, email],
      )
      return rows[0] ?? null
    },

    /** Users with these emails, with their groups: how petitioners from an application map to people here. */
    async findUsersByEmails(db: Queryable, spaceId: string, emails: string[]): Promise<User[]> {
      const { rows } = await db.query<UserRow>(`${USER_SELECT} WHERE u.space_id = $1 AND u.email IN (SELECT jsonb_array_elements_text($2::jsonb))`, [spaceId, JSON.stringify(emails)])
      return rows.map(toUser)
    },

    async listUsers(db: Queryable, spaceId: string, after: string | null, limit: number): Promise<User[]> {
      const page = pageClause('u.id', after)
      const { rows } = await db.query<UserRow>(
        `${USER_SELECT} WHERE u.space_id = $1${page.sql} ORDER BY u.id LIMIT $2`,
        [spaceId, limit, ...page.params],
      )
      return rows.map(toUser)
    },

    async updateUser(tx: Queryable, spaceId: string, userId: string, changes: { name?: string; role?: Role; passwordHash?: string }) {
      const { rowCount } = await tx.query(
        `UPDATE users SET name = coalesce($3, name), role = coalesce($4, role), password_hash = coalesce($5, password_hash),
         updated_at = now() WHERE space_id = $1 AND id = $2`,
        [spaceId, userId, changes.name ?? null, changes.role ?? null, changes.passwordHash ?? null],
      )
      return rowCount > 0
    },

    /**
     * These users, locked against deletion and deactivation until the caller's transaction ends: a
     * petition made for them commits before their access can be ended, so ending it sees the petition.
     */
    async lockUsersByEmails(tx: Queryable, spaceId: string, emails: string[]): Promise<Array<{ id: string; email: string; disabledAt: string | null }>> {
      const { rows } = await tx.query<{ id: string; email: string; disabled_at: Date | null }>(
        'SELECT id, email, disabled_at FROM users WHERE space_id = $1 AND email IN (SELECT jsonb_array_elements_text($2::jsonb)) FOR SHARE',
        [spaceId, JSON.stringify(emails)],
      )
      return rows.map((row) => ({ id: row.id, email: row.email, disabledAt: row.disabled_at?.toISOString() ?? null }))
    },

    /** Deactivates the user from `at`. False when there is no such user. */
    async setUserDisabled(tx: Queryable, spaceId: string, userId: string, at: Date): Promise<boolean> {
      const { rowCount } = await tx.query('UPDATE users SET disabled_at = $3, updated_at = now() WHERE space_id = $1 AND id = $2', [spaceId, userId, at])
      return rowCount > 0
    },

    /** The user row locked for the caller's transaction (deletion, deactivation). */
    async lockUser(tx: Queryable, spaceId: string, userId: string): Promise<{ id: string; email: string; disabledAt: string | null } | null> {
      const { rows } = await tx.query<{ id: string; email: string; disabled_at: Date | null }>(
        'SELECT id, email, disabled_at FROM users WHERE space_id = $1 AND id = $2 FOR UPDATE',
        [spaceId, userId],
      )
      return rows[0] ? { id: rows[0].id, email: rows[0].email, disabledAt: rows[0].disabled_at?.toISOString() ?? null } : null
    },

    async deleteUser(tx: Queryable, spaceId: string, userId: string): Promise<boolean> {
      const { rowCount } = await tx.query('DELETE FROM users WHERE space_id = $1 AND id = $2', [spaceId, userId])
      return rowCount > 0
    },

    async insertGroup(tx: Queryable, spaceId: string, group: { id: string; name: string; description: string }) {
      await tx.query('INSERT INTO groups (space_id, id, name, description) VALUES ($1, $2, $3, $4)', [
        spaceId,
        group.id,
        group.name,
        group.description,
      ])
    },

    async getGroup(db: Queryable, spaceId: string, groupId: string): Promise<Group | null> {
      const { rows } = await db.query<GroupRow>(`${GROUP_SELECT} WHERE g.space_id = $1 AND g.id = $2`, [spaceId, groupId])
      return rows[0] ? toGroup(rows[0]) : null
    },

    async listGroups(db: Queryable, spaceId: string, after: string | null, limit: number): Promise<Group[]> {
      const page = pageClause('g.id', after)
      const { rows } = await db.query<GroupRow>(
        `${GROUP_SELECT} WHERE g.space_id = $1${page.sql} ORDER BY g.id LIMIT $2`,
        [spaceId, limit, ...page.params],
      )
      return rows.map(toGroup)
    },

    async deleteGroup(tx: Queryable, spaceId: string, groupId: string): Promise<boolean> {
      const { rowCount } = await tx.query('DELETE FROM groups WHERE space_id = $1 AND id = $2', [spaceId, groupId])
      return rowCount > 0
    },

    async addGroupMember(tx: Queryable, spaceId: string, groupId: string, userId: string): Promise<boolean> {
      const { rowCount } = await tx.query(
        'INSERT INTO group_members (space_id, group_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [spaceId, groupId, userId],
      )
      return rowCount > 0
    },

    async removeGroupMember(tx: Queryable, spaceId: string, groupId: string, userId: string): Promise<boolean> {
      const { rowCount } = await tx.query('DELETE FROM group_members WHERE space_id = $1 AND group_id = $2 AND user_id = $3', [
        spaceId,
        groupId,
        userId,
      ])
      return rowCount > 0
    },

    async insertServiceAccount(tx: Queryable, spaceId: string, account: { id: string; name: string; description: string; role: Role }) {
      await tx.query('INSERT INTO service_accounts (space_id, id, name, description, role) VALUES ($1, $2, $3, $4, $5)', [
        spaceId,
        account.id,
        account.name,
        account.description,
        account.role,
      ])
    },

    async getServiceAccount(db: Queryable, spaceId: string, accountId: string): Promise<ServiceAccount | null> {
      const { rows } = await db.query<ServiceAccountRow>(
        'SELECT id, name, description, role, created_at FROM service_accounts WHERE space_id = $1 AND id = $2',
        [spaceId, accountId],
      )
      return rows[0] ? toServiceAccount(rows[0]) : null
    },

    async listServiceAccounts(db: Queryable, spaceId: string, after: string | null, limit: number): Promise<ServiceAccount[]> {
      const page = pageClause('id', after)
      const { rows } = await db.query<ServiceAccountRow>(
        `SELECT id, name, description, role, created_at FROM service_accounts WHERE space_id = $1${page.sql} ORDER BY id LIMIT $2`,
        [spaceId, limit, ...page.params],
      )
      return rows.map(toServiceAccount)
    },

    async deleteServiceAccount(tx: Queryable, spaceId: string, accountId: string): Promise<boolean> {
      const { rowCount } = await tx.query('DELETE FROM service_accounts WHERE space_id = $1 AND id = $2', [spaceId, accountId])
      return rowCount > 0
    },
  }
}

export type MembersStore = ReturnType<typeof createMembersStore>
