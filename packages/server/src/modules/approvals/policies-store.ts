import type { Queryable } from '../../db/db.js'
import type { EmergencyRule, Policy, PolicyDecision, PolicyMatch } from './approvals-types.js'

interface PolicyRow {
  id: string
  name: string
  priority: number
  match: PolicyMatch
  decision: PolicyDecision & { maxDurationSeconds?: number }
  emergency: EmergencyRule | null
  created_at: Date
  updated_at: Date
}

// The cap is stored beside the decision so the table needs no column per option.
const toPolicy = (row: PolicyRow): Policy => {
  const { maxDurationSeconds, ...decision } = row.decision
  return {
    id: row.id,
    name: row.name,
    priority: row.priority,
    match: row.match,
    decision: decision as PolicyDecision,
    ...(maxDurationSeconds !== undefined ? { maxDurationSeconds } : {}),
    ...(row.emergency ? { emergency: row.emergency } : {}),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  }
}

const COLUMNS = 'id, name, priority, match, decision, emergency, created_at, updated_at'

export interface PolicyFields {
  name: string
  priority: number
  match: PolicyMatch
  decision: PolicyDecision
  maxDurationSeconds?: number
  emergency?: EmergencyRule
}

const params = (policy: PolicyFields) => [
  policy.name,
  policy.priority,
  JSON.stringify(policy.match),
  JSON.stringify({ ...policy.decision, ...(policy.maxDurationSeconds !== undefined ? { maxDurationSeconds: policy.maxDurationSeconds } : {}) }),
  policy.emergency ? JSON.stringify(policy.emergency) : null,
]

export function createPoliciesStore() {
  return {
    async list(db: Queryable, spaceId: string): Promise<Policy[]> {
      const { rows } = await db.query<PolicyRow>(`SELECT ${COLUMNS} FROM policies WHERE space_id = $1 ORDER BY priority, name`, [spaceId])
      return rows.map(toPolicy)
    },

    async get(db: Queryable, spaceId: string, policyId: string): Promise<Policy | null> {
      const { rows } = await db.query<PolicyRow>(`SELECT ${COLUMNS} FROM policies WHERE space_id = $1 AND id = $2`, [spaceId, policyId])
      return rows[0] ? toPolicy(rows[0]) : null
    },

    async insert(tx: Queryable, spaceId: string, id: string, policy: PolicyFields): Promise<Policy> {
      const { rows } = await tx.query<PolicyRow>(
        `INSERT INTO policies (space_id, id, name, priority, match, decision, emergency) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb)
         RETURNING ${COLUMNS}`,
        [spaceId, id, ...params(policy)],
      )
      return toPolicy(rows[0]!)
    },

    async replace(tx: Queryable, spaceId: string, id: string, policy: PolicyFields): Promise<Policy | null> {
      const { rows } = await tx.query<PolicyRow>(
        `UPDATE policies SET name = $3, priority = $4, match = $5::jsonb, decision = $6::jsonb, emergency = $7::jsonb, updated_at = now()
         WHERE space_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
        [spaceId, id, ...params(policy)],
      )
      return rows[0] ? toPolicy(rows[0]) : null
    },

    async delete(tx: Queryable, spaceId: string, id: string): Promise<boolean> {
      return (await tx.query('DELETE FROM policies WHERE space_id = $1 AND id = $2', [spaceId, id])).rowCount > 0
    },
  }
}

export type PoliciesStore = ReturnType<typeof createPoliciesStore>
