import type { Queryable } from '../../db/db.js'
import type { AuditActor } from '../audit/audit-types.js'
import type { Role, TokenInfo, TokenKind, TokenScope } from './auth-types.js'

interface TokenRow {
  space_id: string
  id: string
  kind: TokenKind
  user_id: string | null
  service_account_id: string | null
  name: string
  prefix: string
  scopes: TokenScope[]
  created_by: AuditActor
  created_at: Date
  expires_at: Date | null
  revoked_at: Date | null
}

/** A token with what authentication needs of its subject, read in one query. */
export interface TokenForAuth extends TokenInfo {
  spaceId: string
  subjectRole: Role
  subjectDisplay: string
  /** When the user was deactivated; null for an active user and for a service account. */
  subjectDisabledAt: string | null
}

const TOKEN_COLUMNS = 't.space_id, t.id, t.kind, t.user_id, t.service_account_id, t.name, t.prefix, t.scopes, t.created_by, t.created_at, t.expires_at, t.revoked_at'

const toTokenInfo = (row: TokenRow): TokenInfo => ({
  id: row.id,
  kind: row.kind,
  name: row.name,
  prefix: row.prefix,
  subjectId: (row.user_id ?? row.service_account_id)!,
  scopes: row.scopes,
  createdAt: row.created_at.toISOString(),
  expiresAt: row.expires_at?.toISOString() ?? null,
  revokedAt: row.revoked_at?.toISOString() ?? null,
  createdBy: row.created_by,
})

export interface NewTokenRow {
  id: string
  kind: TokenKind
  subjectId: string
  name: string
  prefix: string
  secretHash: string
  scopes: TokenScope[]
  createdBy: AuditActor
  expiresAt: Date | null
}

async function getToken(db: Queryable, spaceId: string, tokenId: string): Promise<TokenInfo | null> {
  const { rows } = await db.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens t WHERE t.space_id = $1 AND t.id = $2`, [spaceId, tokenId])
  return rows[0] ? toTokenInfo(rows[0]) : null
}

export function createAuthStore() {
  return {
    getToken,

    async spaceExists(db: Queryable, spaceId: string): Promise<boolean> {
      return (await db.query('SELECT 1 FROM spaces WHERE id = $1', [spaceId])).rowCount > 0
    },

    async insertToken(tx: Queryable, spaceId: string, token: NewTokenRow): Promise<TokenInfo> {
      const { rows } = await tx.query<TokenRow>(
        `INSERT INTO tokens AS t (space_id, id, kind, user_id, service_account_id, name, prefix, secret_hash, scopes, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11) RETURNING ${TOKEN_COLUMNS}`,
        [
          spaceId,
          token.id,
          token.kind,
          token.kind === 'user' ? token.subjectId : null,
          token.kind === 'service_account' ? token.subjectId : null,
          token.name,
          token.prefix,
          token.secretHash,
          JSON.stringify(token.scopes),
          JSON.stringify(token.createdBy),
          token.expiresAt,
        ],
      )
      return toTokenInfo(rows[0]!)
    },

    async findBySecretHash(db: Queryable, secretHash: string): Promise<TokenForAuth | null> {
      const { rows } = await db.query<TokenRow & { subject_role: Role; subject_display: string; subject_disabled_at: Date | null }>(
        `SELECT ${TOKEN_COLUMNS}, coalesce(u.role, sa.role) AS subject_role, coalesce(u.email, sa.name) AS subject_display, u.disabled_at AS subject_disabled_at
         FROM tokens t
         LEFT JOIN users u ON u.space_id = t.space_id AND u.id = t.user_id
         LEFT JOIN service_accounts sa ON sa.space_id = t.space_id AND sa.id = t.service_account_id
         WHERE t.secret_hash = $1`,
        [secretHash],
      )
      const row = rows[0]
      if (!row) return null
      return { ...toTokenInfo(row), spaceId: row.space_id, subjectRole: row.subject_role, subjectDisplay: row.subject_display, subjectDisabledAt: row.subject_disabled_at?.toISOString() ?? null }
    },

    async listTokens(db: Queryable, spaceId: string, subjectId: string | null, after: string | null, limit: number): Promise<TokenInfo[]> {
      const { rows } = await db.query<TokenRow>(
        `SELECT ${TOKEN_COLUMNS} FROM tokens t WHERE t.space_id = $1
           AND ($2::text IS NULL OR t.user_id = $2 OR t.service_account_id = $2)
           AND ($3::text IS NULL OR t.id > $3)
         ORDER BY t.id LIMIT $4`,
        [spaceId, subjectId, after, limit],
      )
      return rows.map(toTokenInfo)
    },

    /** Returns the token as it now is; `changed` is false when it was already revoked. */
    async revoke(tx: Queryable, spaceId: string, tokenId: string, at: Date): Promise<{ token: TokenInfo; changed: boolean } | null> {
      const { rows } = await tx.query<TokenRow>(
        `UPDATE tokens t SET revoked_at = $3 WHERE t.space_id = $1 AND t.id = $2 AND t.revoked_at IS NULL RETURNING ${TOKEN_COLUMNS}`,
        [spaceId, tokenId, at],
      )
      if (rows[0]) return { token: toTokenInfo(rows[0]), changed: true }
      const existing = await getToken(tx, spaceId, tokenId)
      return existing ? { token: existing, changed: false } : null
    },
  }
}

export type AuthStore = ReturnType<typeof createAuthStore>
