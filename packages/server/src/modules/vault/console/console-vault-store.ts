import type { Queryable } from '../../../db/db.js'

/** Which vault client (by its row id) the console uses in a space. */
export function createConsoleVaultStore() {
  return {
    async designated(db: Queryable, spaceId: string): Promise<string | null> {
      const { rows } = await db.query<{ client_row_id: string }>('SELECT client_row_id FROM vault_console_clients WHERE space_id = $1', [spaceId])
      return rows[0]?.client_row_id ?? null
    },
    async designate(tx: Queryable, spaceId: string, clientRowId: string): Promise<void> {
      await tx.query(
        `INSERT INTO vault_console_clients (space_id, client_row_id) VALUES ($1, $2)
         ON CONFLICT (space_id) DO UPDATE SET client_row_id = EXCLUDED.client_row_id, designated_at = now()`,
        [spaceId, clientRowId],
      )
    },
    async clear(tx: Queryable, spaceId: string): Promise<boolean> {
      return (await tx.query('DELETE FROM vault_console_clients WHERE space_id = $1', [spaceId])).rowCount > 0
    },
  }
}

export type ConsoleVaultStore = ReturnType<typeof createConsoleVaultStore>
