/**
 * Keyset pagination by id: fetch one row more than asked for to learn whether another page
 * exists; the cursor is the last id shown.
 */
export async function keysetPage<T extends { id: string }>(
  fetch: (limit: number) => Promise<T[]>,
  limit: number,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const rows = await fetch(limit + 1)
  const items = rows.slice(0, limit)
  return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null }
}
