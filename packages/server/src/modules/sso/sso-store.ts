import type { Queryable } from '../../db/db.js'
import type { Role } from '../auth/auth-types.js'
import type { ProviderChanges, ProviderInput, SsoFlow, SsoProvider, SsoProviderSecretView } from './sso-types.js'

interface ProviderRow {
  id: string
  display_name: string
  issuer: string
  client_id: string
  client_secret: string | null
  scopes: string[]
  enabled: boolean
  require_verified_email: boolean
  link_existing_users: boolean
  groups_claim: string | null
  role_claim: string | null
  role_map: Record<string, Role>
  created_at: Date
  updated_at: Date
}

/** The sealing context of a provider's client secret. */
export const ssoSecretContext = (spaceId: string, providerId: string) => `sso_providers:${spaceId}:${providerId}`

const PROVIDER_COLUMNS = `id, display_name, issuer, client_id, client_secret, scopes, enabled, require_verified_email,
  link_existing_users, groups_claim, role_claim, role_map, created_at, updated_at`

const toProvider = (row: ProviderRow): SsoProviderSecretView => ({
  id: row.id,
  displayName: row.display_name,
  issuer: row.issuer,
  clientId: row.client_id,
  clientSecret: row.client_secret,
  hasClientSecret: row.client_secret !== null,
  scopes: row.scopes,
  enabled: row.enabled,
  requireVerifiedEmail: row.require_verified_email,
  linkExistingUsers: row.link_existing_users,
  groupsClaim: row.groups_claim,
  roleClaim: row.role_claim,
  roleMap: row.role_map,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
})

/** The public face of a provider: the secret dropped. */
export const withoutSecret = ({ clientSecret: _secret, ...provider }: SsoProviderSecretView): SsoProvider => provider

interface FlowRow {
  state_hash: string
  space_id: string
  provider_id: string
  nonce: string
  code_verifier: string
  redirect_uri: string
  return_to: string
  cli_redirect: string | null
  cli_challenge: string | null
  cli_state: string | null
  expires_at: Date
  used_at: Date | null
}

const toFlow = (row: FlowRow): SsoFlow => ({
  stateHash: row.state_hash,
  spaceId: row.space_id,
  providerId: row.provider_id,
  nonce: row.nonce,
  codeVerifier: row.code_verifier,
  redirectUri: row.redirect_uri,
  returnTo: row.return_to,
  cliRedirect: row.cli_redirect,
  cliChallenge: row.cli_challenge,
  cliState: row.cli_state,
  expiresAt: row.expires_at,
  usedAt: row.used_at,
})

export function createSsoStore() {
  return {
    async spaceExists(db: Queryable, spaceId: string): Promise<boolean> {
      return (await db.query('SELECT 1 FROM spaces WHERE id = $1', [spaceId])).rowCount > 0
    },

    async insertProvider(tx: Queryable, spaceId: string, p: Required<Omit<ProviderInput, 'clientSecret'>> & { clientSecret: string | null }) {
      await tx.query(
        `INSERT INTO sso_providers (space_id, id, display_name, issuer, client_id, client_secret, scopes, enabled, require_verified_email,
           link_existing_users, groups_claim, role_claim, role_map)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13::jsonb)`,
        [spaceId, p.id, p.displayName, p.issuer, p.clientId, p.clientSecret, JSON.stringify(p.scopes), p.enabled, p.requireVerifiedEmail,
          p.linkExistingUsers, p.groupsClaim, p.roleClaim, JSON.stringify(p.roleMap)],
      )
    },

    /** Rewrites every stored client secret through `reseal` (sealing plain ones, rewrapping sealed ones). */
    async resealSecrets(q: Queryable, reseal: (stored: string, context: string) => Promise<string>): Promise<number> {
      const { rows } = await q.query<{ space_id: string; id: string; client_secret: string }>(
        'SELECT space_id, id, client_secret FROM sso_providers WHERE client_secret IS NOT NULL ORDER BY space_id, id FOR UPDATE',
      )
      let changed = 0
      for (const row of rows) {
        const sealed = await reseal(row.client_secret, ssoSecretContext(row.space_id, row.id))
        if (sealed === row.client_secret) continue
        await q.query('UPDATE sso_providers SET client_secret = $3 WHERE space_id = $1 AND id = $2', [row.space_id, row.id, sealed])
        changed++
      }
      return changed
    },

    async getProvider(db: Queryable, spaceId: string, id: string): Promise<SsoProviderSecretView | null> {
      const { rows } = await db.query<ProviderRow>(`SELECT ${PROVIDER_COLUMNS} FROM sso_providers WHERE space_id = $1 AND id = $2`, [spaceId, id])
      return rows[0] ? toProvider(rows[0]) : null
    },

    async listProviders(db: Queryable, spaceId: string): Promise<SsoProviderSecretView[]> {
      const { rows } = await db.query<ProviderRow>(`SELECT ${PROVIDER_COLUMNS} FROM sso_providers WHERE space_id = $1 ORDER BY id`, [spaceId])
      return rows.map(toProvider)
    },

    /** `undefined` leaves a field as it is; for the nullable ones `null` clears it. */
    async updateProvider(tx: Queryable, spaceId: string, id: string, c: ProviderChanges): Promise<boolean> {
      const has = (key: keyof ProviderChanges) => c[key] !== undefined
      const { rowCount } = await tx.query(
        `UPDATE sso_providers SET
           display_name = coalesce($3::text, display_name), issuer = coalesce($4::text, issuer), client_id = coalesce($5::text, client_id),
           client_secret = CASE WHEN $6::boolean THEN $7::text ELSE client_secret END,
           scopes = coalesce($8::jsonb, scopes), enabled = coalesce($9::boolean, enabled),
           require_verified_email = coalesce($10::boolean, require_verified_email), link_existing_users = coalesce($11::boolean, link_existing_users),
           groups_claim = CASE WHEN $12::boolean THEN $13::text ELSE groups_claim END,
           role_claim = CASE WHEN $14::boolean THEN $15::text ELSE role_claim END,
           role_map = coalesce($16::jsonb, role_map), updated_at = now()
         WHERE space_id = $1 AND id = $2`,
        [spaceId, id, c.displayName ?? null, c.issuer ?? null, c.clientId ?? null, has('clientSecret'), c.clientSecret ?? null,
          c.scopes ? JSON.stringify(c.scopes) : null, c.enabled ?? null, c.requireVerifiedEmail ?? null, c.linkExistingUsers ?? null,
          has('groupsClaim'), c.groupsClaim ?? null, has('roleClaim'), c.roleClaim ?? null, c.roleMap ? JSON.stringify(c.roleMap) : null],
      )
      return rowCount > 0
    },

    async deleteProvider(tx: Queryable, spaceId: string, id: string): Promise<boolean> {
      return (await tx.query('DELETE FROM sso_providers WHERE space_id = $1 AND id = $2', [spaceId, id])).rowCount > 0
    },

    async insertFlow(db: Queryable, flow: Omit<SsoFlow, 'usedAt'>) {
      // Old flows are dropped as new ones start: no sweeper needed, any node does it.
      await db.query(`DELETE FROM sso_flows WHERE expires_at < now() - interval '1 day'`)
      await db.query(
        `INSERT INTO sso_flows (state_hash, space_id, provider_id, nonce, code_verifier, redirect_uri, return_to, cli_redirect, cli_challenge, cli_state, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [flow.stateHash, flow.spaceId, flow.providerId, flow.nonce, flow.codeVerifier, flow.redirectUri, flow.returnTo, flow.cliRedirect, flow.cliChallenge,
          flow.cliState, flow.expiresAt],
      )
    },

    /**
     * Marks the flow used and returns it, in one statement, so two callbacks racing on any nodes
     * cannot both get it. `used` is the flow as it was when it had been used already.
     */
    async consumeFlow(db: Queryable, spaceId: string, stateHash: string, at: Date): Promise<{ flow: SsoFlow; firstUse: boolean } | null> {
      const { rows } = await db.query<FlowRow>(
        'UPDATE sso_flows SET used_at = $3 WHERE space_id = $1 AND state_hash = $2 AND used_at IS NULL RETURNING *',
        [spaceId, stateHash, at],
      )
      if (rows[0]) return { flow: toFlow(rows[0]), firstUse: true }
      const existing = await db.query<FlowRow>('SELECT * FROM sso_flows WHERE space_id = $1 AND state_hash = $2', [spaceId, stateHash])
      return existing.rows[0] ? { flow: toFlow(existing.rows[0]), firstUse: false } : null
    },

    async findIdentity(db: Queryable, spaceId: string, providerId: string, subject: string): Promise<{ userId: string; disabled: boolean } | null> {
      const { rows } = await db.query<{ user_id: string; disabled_at: Date | null }>(
        `SELECT i.user_id, u.disabled_at FROM sso_identities i JOIN users u ON u.space_id = i.space_id AND u.id = i.user_id
         WHERE i.space_id = $1 AND i.provider_id = $2 AND i.subject = $3`,
        [spaceId, providerId, subject],
      )
      return rows[0] ? { userId: rows[0].user_id, disabled: rows[0].disabled_at !== null } : null
    },

    async linkIdentity(tx: Queryable, spaceId: string, providerId: string, subject: string, userId: string, email: string) {
      await tx.query(
        `INSERT INTO sso_identities (space_id, provider_id, subject, user_id, email) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (space_id, provider_id, subject) DO UPDATE SET last_sign_in = now(), email = EXCLUDED.email`,
        [spaceId, providerId, subject, userId, email],
      )
    },

    async insertCliCode(db: Queryable, c: { codeHash: string; spaceId: string; userId: string; providerId: string; challenge: string; redirectUri: string; expiresAt: Date }) {
      await db.query(`DELETE FROM sso_cli_codes WHERE expires_at < now() - interval '1 day'`)
      await db.query(
        'INSERT INTO sso_cli_codes (code_hash, space_id, user_id, provider_id, challenge, redirect_uri, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [c.codeHash, c.spaceId, c.userId, c.providerId, c.challenge, c.redirectUri, c.expiresAt],
      )
    },

    /** Single use, like a flow: marked used in the statement that reads it. */
    async consumeCliCode(tx: Queryable, spaceId: string, codeHash: string, at: Date) {
      const { rows } = await tx.query<{ user_id: string; provider_id: string; challenge: string; redirect_uri: string; expires_at: Date }>(
        `UPDATE sso_cli_codes SET used_at = $3 WHERE space_id = $1 AND code_hash = $2 AND used_at IS NULL
         RETURNING user_id, provider_id, challenge, redirect_uri, expires_at`,
        [spaceId, codeHash, at],
      )
      const row = rows[0]
      return row ? { userId: row.user_id, providerId: row.provider_id, challenge: row.challenge, redirectUri: row.redirect_uri, expiresAt: row.expires_at } : null
    },

    async getSettings(db: Queryable, spaceId: string): Promise<{ passwordSignIn: boolean }> {
      const { rows } = await db.query<{ password_sign_in: boolean }>('SELECT password_sign_in FROM sso_settings WHERE space_id = $1', [spaceId])
      return { passwordSignIn: rows[0]?.password_sign_in ?? true }
    },

    async putSettings(tx: Queryable, spaceId: string, settings: { passwordSignIn: boolean }) {
      await tx.query(
        `INSERT INTO sso_settings (space_id, password_sign_in) VALUES ($1, $2)
         ON CONFLICT (space_id) DO UPDATE SET password_sign_in = EXCLUDED.password_sign_in, updated_at = now()`,
        [spaceId, settings.passwordSignIn],
      )
    },
  }
}

export type SsoStore = ReturnType<typeof createSsoStore>
