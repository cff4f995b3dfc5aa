import type { Queryable } from '../../../db/db.js'
import type { VaultClientRecord } from './vault-client-types.js'

interface ClientRow {
  space_id: string
  id: string
  client_id: string
  name: string
  policy_id: string
  secret_hash: string
  created_at: Date
}

const toRecord = (row: ClientRow): VaultClientRecord => ({
  spaceId: row.space_id,
  id: row.id,
  clientId: row.client_id,
  name: row.name,
  policyId: row.policy_id,
  secretHash: row.secret_hash,
  createdAt: row.created_at.toISOString(),
})

const COLUMNS = 'space_id, id, client_id, name, policy_id, secret_hash, created_at'

export function createVaultClientsStore() {
  return {
    async byClientId(db: Queryable, clientId: string): Promise<VaultClientRecord | null> {
      const { rows } = await db.query<ClientRow>(`SELECT ${COLUMNS} FROM vault_clients WHERE client_id = $1 AND revoked_at IS NULL`, [clientId])
      return rows[0] ? toRecord(rows[0]) : null
    },
    async list(db: Queryable, spaceId: string): Promise<VaultClientRecord[]> {
      const { rows } = await db.query<ClientRow>(`SELECT ${COLUMNS} FROM vault_clients WHERE space_id = $1 AND revoked_at IS NULL ORDER BY id`, [spaceId])
      return rows.map(toRecord)
    },
    async insert(tx: Queryable, spaceId: string, client: { id: string; clientId: string; name: string; policyId: string; secretHash: string }) {
      await tx.query('INSERT INTO vault_clients (space_id, id, client_id, name, policy_id, secret_hash) VALUES ($1, $2, $3, $4, $5, $6)', [
        spaceId,
        client.id,
        client.clientId,
        client.name,
        client.policyId,
        client.secretHash,
      ])
    },
    async delete(tx: Queryable, spaceId: string, id: string): Promise<boolean> {
      return (await tx.query('DELETE FROM vault_clients WHERE space_id = $1 AND id = $2', [spaceId, id])).rowCount > 0
    },
  }
}

export type VaultClientsStore = ReturnType<typeof createVaultClientsStore>
