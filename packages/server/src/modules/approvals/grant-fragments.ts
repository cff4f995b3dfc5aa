import type { SqlFragment } from '../../db/sql-fragment.js'
import type { ActiveGrantsQuery } from './approvals-types.js'

// The approvals store's SQL that other modules embed in their own statements (through
// GrantLookup, never by name): each is a subquery on `grants`, valid only on the approvals
// module's database, its placeholders numbered from $1.

/**
 * GrantLookup.activeResourceIds: the resource ids of one kind on which this user holds a grant
 * working at `now`, as a subquery the vault's `grants` ACL embeds in its own statement. Matched on
 * the user id, never on the email: a grant of a deleted user never opens rows to a later user with
 * the same email. Served by grants_active_by_user.
 */
export function activeGrantResourceIds({ spaceId, userId, resourceKind, now }: ActiveGrantsQuery): SqlFragment {
  return {
    sql: `SELECT g.resource_id FROM grants g WHERE g.space_id = $1 AND g.petitioner_user_id = $2 AND g.resource_kind = $3
      AND g.revoked_at IS NULL AND g.starts_at <= $4 AND g.expires_at > $4`,
    params: [spaceId, userId, resourceKind, now],
  }
}

/**
 * GrantLookup.coveringGrants: per resource id of the caller's subquery, the active grant that ends
 * last (ties broken by id), exactly the one `grantsCovering` orders first. The expiry is rendered
 * as `Date.toISOString()` renders it (grants are stored to the millisecond: their window is
 * computed in JS), so an audit event written by SQL names it byte for byte as one written by JS.
 */
export function coveringGrantsOf({ spaceId, userId, resourceKind, now }: ActiveGrantsQuery, resourceIds: string): SqlFragment {
  return {
    sql: `SELECT DISTINCT ON (g.resource_id) g.resource_id, g.id AS grant_id, g.petition_id,
        to_char(g.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS expires_at
      FROM grants g WHERE g.space_id = $1 AND g.petitioner_user_id = $2 AND g.resource_kind = $3
        AND g.resource_id IN (${resourceIds}) AND g.revoked_at IS NULL AND g.starts_at <= $4 AND g.expires_at > $4
      ORDER BY g.resource_id, g.expires_at DESC, g.id`,
    params: [spaceId, userId, resourceKind, now],
  }
}
