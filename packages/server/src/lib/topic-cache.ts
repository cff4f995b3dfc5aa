/** What a cache needs of the change feed (`db/change-feed.ts`): the hints, never the database. */
export interface CacheFeed {
  generation(topic: string): number
  fresh(): boolean
  subscribe(topic: string, subscriber: (topic: string) => void): () => void
}

export interface TopicCacheOptions {
  feed: CacheFeed
  /** At most this many entries; the least recently used goes first. */
  maxEntries: number
}

interface Entry<V> {
  topic: string
  value: V
}

/**
 * A bounded per-process cache whose entries belong to change-feed topics: a change of the topic (on
 * any node, see docs/nodes.md) drops them. It answers only while the feed is fresh, and keeps what it
 * loaded only when the topic's generation did not move during the load, so a change committed while
 * the database was being read is never papered over by the older answer.
 *
 * It holds what the database said, not a decision: anything that depends on the time (a token's or a
 * grant's expiry) is checked by the caller against the clock at every use.
 */
export function createTopicCache<V>({ feed, maxEntries }: TopicCacheOptions) {
  const entries = new Map<string, Entry<V>>()
  const subscribed = new Set<string>()

  const drop = (topic: string) => {
    for (const [key, entry] of entries) if (entry.topic === topic) entries.delete(key)
  }
  const follow = (topic: string) => {
    if (subscribed.has(topic)) return
    subscribed.add(topic)
    feed.subscribe(topic, drop)
  }

  const cache = {
    /** The entry, freshened as most recently used; undefined when absent or when the feed is not fresh. */
    peek(key: string): V | undefined {
      if (!feed.fresh()) return undefined
      const entry = entries.get(key)
      if (!entry) return undefined
      entries.delete(key)
      entries.set(key, entry)
      return entry.value
    },

    /** The generation to hand to `keep` after reading the database (read it before the read). */
    mark(topic: string): number {
      follow(topic)
      return feed.generation(topic)
    },

    /** Keeps `value` unless `topic` changed since `mark` (or the feed is not fresh). */
    keep(topic: string, key: string, value: V, marked: number): void {
      if (!feed.fresh() || feed.generation(topic) !== marked) return
      entries.delete(key)
      entries.set(key, { topic, value })
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!)
    },

    /**
     * The cached value, or `load()`'s. A null answer (nothing found) is never kept: the next call asks
     * the database again, so a thing created after a miss is found at once and unknown keys (guessed
     * tokens) cannot fill the cache.
     */
    async get(topic: string, key: string, load: () => Promise<V | null>): Promise<V | null> {
      const hit = cache.peek(key)
      if (hit !== undefined) return hit
      const marked = cache.mark(topic)
      const value = await load()
      if (value !== null) cache.keep(topic, key, value, marked)
      return value
    },

    get size(): number {
      return entries.size
    },

    clear(): void {
      entries.clear()
    },
  }
  return cache
}

export type TopicCache<V> = ReturnType<typeof createTopicCache<V>>
