import { describe, expect, it } from 'vitest'
import { createTopicCache, type CacheFeed } from '../src/lib/topic-cache.js'

/** A change feed in memory: `change(topic)` is what a touch + announce does to this node. */
function fakeFeed() {
  const generations = new Map<string, number>()
  const subscribers = new Map<string, Set<(topic: string) => void>>()
  const feed: CacheFeed & { isFresh: boolean; change(topic: string): void } = {
    isFresh: true,
    generation: (topic) => generations.get(topic) ?? 0,
    fresh: () => feed.isFresh,
    subscribe(topic, subscriber) {
      const set = subscribers.get(topic) ?? new Set()
      subscribers.set(topic, set)
      set.add(subscriber)
      return () => set.delete(subscriber)
    },
    change(topic) {
      generations.set(topic, feed.generation(topic) + 1)
      for (const subscriber of subscribers.get(topic) ?? []) subscriber(topic)
    },
  }
  return feed
}

describe('the topic cache', () => {
  it('answers a second read from memory, and reads again after its topic changes', async () => {
    const feed = fakeFeed()
    const cache = createTopicCache<string>({ feed, maxEntries: 10 })
    let reads = 0
    const load = async () => `v${(reads += 1)}`
    expect(await cache.get('t', 'k', load)).toBe('v1')
    expect(await cache.get('t', 'k', load)).toBe('v1')
    feed.change('other')
    expect(await cache.get('t', 'k', load)).toBe('v1')
    feed.change('t')
    expect(await cache.get('t', 'k', load)).toBe('v2')
    expect(reads).toBe(2)
  })

  it('does not keep what it read while its topic changed (the change may have landed after the read)', async () => {
    const feed = fakeFeed()
    const cache = createTopicCache<string>({ feed, maxEntries: 10 })
    expect(
      await cache.get('t', 'k', async () => {
        feed.change('t')
        return 'old'
      }),
    ).toBe('old')
    expect(await cache.get('t', 'k', async () => 'new')).toBe('new')
  })

  it('bypasses itself entirely while the feed is not fresh', async () => {
    const feed = fakeFeed()
    const cache = createTopicCache<string>({ feed, maxEntries: 10 })
    await cache.get('t', 'k', async () => 'cached')
    feed.isFresh = false
    expect(await cache.get('t', 'k', async () => 'from the database')).toBe('from the database')
    expect(cache.peek('k')).toBeUndefined()
    feed.isFresh = true
    // Read while not fresh: not kept, so the entry is the one from before.
    expect(cache.peek('k')).toBe('cached')
  })

  it('keeps no null answer, and no more than its bound (least recently used first out)', async () => {
    const feed = fakeFeed()
    const cache = createTopicCache<string>({ feed, maxEntries: 2 })
    expect(await cache.get('t', 'missing', async () => null)).toBeNull()
    expect(cache.size).toBe(0)
    await cache.get('t', 'a', async () => 'a')
    await cache.get('t', 'b', async () => 'b')
    expect(cache.peek('a')).toBe('a') // a is now the most recently used
    await cache.get('t', 'c', async () => 'c')
    expect(cache.size).toBe(2)
    expect(cache.peek('b')).toBeUndefined()
    expect(cache.peek('a')).toBe('a')
    expect(cache.peek('c')).toBe('c')
  })
})
