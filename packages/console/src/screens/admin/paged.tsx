import { useInfiniteQuery, type QueryKey } from '@tanstack/react-query'

/**
 * A list the server pages with `{ <items>, nextCursor }`: the pages so far as one array, and a
 * "Load more" button while the server says there is more.
 */
export function usePaged<T>(queryKey: QueryKey, fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>) {
  const query = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => fetchPage(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })
  const items = query.data?.pages.flatMap((page) => page.items) ?? []
  return { ...query, items }
}

export function LoadMore({ query }: { query: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage(): unknown } }) {
  if (!query.hasNextPage) return null
  return (
    <button type="button" className="secondary" disabled={query.isFetchingNextPage} onClick={() => query.fetchNextPage()}>
      {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
    </button>
  )
}

export const ROLES = ['member', 'reviewer', 'admin'] as const
export type AdminRole = (typeof ROLES)[number]
