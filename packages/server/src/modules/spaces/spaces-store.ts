import type { Queryable } from '../../db/db.js'
import type { Space } from './spaces-types.js'

interface SpaceRow {
  id: string
  display_name: string
  created_at: Date
}

const toSpace = (row: SpaceRow): Space => ({ id: row.id, displayName: row.display_name, createdAt: row.created_at.toISOString() })

export function createSpacesStore() {
  return {
    async insert(tx: Queryable, space: { id: string; displayName: string }): Promise<Space> {
      const { rows } = await tx.query<SpaceRow>('INSERT INTO spaces (id, display_name) VALUES ($1, $2) RETURNING id, display_name, created_at', [
        space.id,
        space.displayName,
      ])
      return toSpace(rows[0]!)
    },

    async get(db: Queryable, spaceId: string): Promise<Space | null> {
      const { rows } = await db.query<SpaceRow>('SELECT id, display_name, created_at FROM spaces WHERE id = $1', [spaceId])
      return rows[0] ? toSpace(rows[0]) : null
    },

    async list(db: Queryable, after: string | null, limit: number): Promise<Space[]> {
      const { rows } = await db.query<SpaceRow>(
        'SELECT id, display_name, created_at FROM spaces WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2',
        [after, limit],
      )
      return rows.map(toSpace)
    },

    async count(db: Queryable): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM spaces')
      return rows[0]!.n
    },
  }
}

export type SpacesStore = ReturnType<typeof createSpacesStore>
