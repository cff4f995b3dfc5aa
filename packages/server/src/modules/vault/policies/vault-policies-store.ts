import type { Queryable } from '../../../db/db.js'
import type { ModelRule, VaultPolicy } from './vault-policy-types.js'

interface PolicyRow {
  id: string
  name: string
  rules: Record<string, ModelRule>
  created_at: Date
  updated_at: Date
}

const toPolicy = (row: PolicyRow): VaultPolicy => ({ id: row.id, name: row.name, rules: row.rules, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() })

export function createVaultPoliciesStore() {
  return {
    async get(db: Queryable, spaceId: string, id: string): Promise<VaultPolicy | null> {
      const { rows } = await db.query<PolicyRow>('SELECT id, name, rules, created_at, updated_at FROM vault_access_policies WHERE space_id = $1 AND id = $2', [spaceId, id])
      return rows[0] ? toPolicy(rows[0]) : null
    },
    async list(db: Queryable, spaceId: string): Promise<VaultPolicy[]> {
      const { rows } = await db.query<PolicyRow>('SELECT id, name, rules, created_at, updated_at FROM vault_access_policies WHERE space_id = $1 ORDER BY name', [spaceId])
      return rows.map(toPolicy)
    },
    async upsert(tx: Queryable, spaceId: string, id: string, name: string, rules: Record<string, ModelRule>): Promise<VaultPolicy> {
      const { rows } = await tx.query<PolicyRow>(
        `INSERT INTO vault_access_policies (space_id, id, name, rules) VALUES ($1, $2, $3, $4::jsonb)
         ON CONFLICT (space_id, id) DO UPDATE SET name = excluded.name, rules = excluded.rules, updated_at = now()
         RETURNING id, name, rules, created_at, updated_at`,
        [spaceId, id, name, JSON.stringify(rules)],
      )
      return toPolicy(rows[0]!)
    },
    async delete(tx: Queryable, spaceId: string, id: string): Promise<boolean> {
      return (await tx.query('DELETE FROM vault_access_policies WHERE space_id = $1 AND id = $2', [spaceId, id])).rowCount > 0
    },
  }
}

export type VaultPoliciesStore = ReturnType<typeof createVaultPoliciesStore>
