import type { ChangeFeed } from '../../db/change-feed.js'
import type { Db } from '../../db/db.js'
import { createTopicCache } from '../../lib/topic-cache.js'
import type { MembersStore } from './members-store.js'

/** Who holds an email in a space, as far as asking for access needs to know. */
export interface EmailHolder {
  id: string
  email: string
  disabledAt: string | null
}

/**
 * The change-feed topic of a space's users (created, deactivated, deleted). Touched in the change's
 * transaction, announced after it.
 */
export const membersTopic = (spaceId: string) => `members:${spaceId}`

/**
 * Email → the user holding it, cached per process for approval()'s fast path. "No user holds this
 * email" is kept too: creating a user touches the same topic as deleting one, so an absent entry is
 * invalidated exactly as a present one is; the keys come from authenticated callers and the cache is
 * bounded. Emails never change (users have no email update), so a user's entry moves only with the
 * topic.
 */
export function createMembersDirectory(deps: { db: Db; store: Pick<MembersStore, 'findUsersByEmails'>; changes: Pick<ChangeFeed, 'generation' | 'fresh' | 'subscribe'>; maxEntries?: number }) {
  const cache = createTopicCache<{ holder: EmailHolder | null }>({ feed: deps.changes, maxEntries: deps.maxEntries ?? 10_000 })
  const keyOf = (spaceId: string, email: string) => `${spaceId}\n${email}`

  return {
    /** The users holding these (normalised) emails; an email no user holds is left out. */
    async usersByEmails(spaceId: string, emails: string[]): Promise<EmailHolder[]> {
      const found: EmailHolder[] = []
      const missing: string[] = []
      for (const email of new Set(emails)) {
        const hit = cache.peek(keyOf(spaceId, email))
        if (hit === undefined) missing.push(email)
        else if (hit.holder) found.push(hit.holder)
      }
      if (missing.length === 0) return found
      const topic = membersTopic(spaceId)
      const marked = cache.mark(topic)
      const users = await deps.store.findUsersByEmails(deps.db, spaceId, missing)
      for (const email of missing) {
        const user = users.find((candidate) => candidate.email === email)
        const holder = user ? { id: user.id, email: user.email, disabledAt: user.disabledAt } : null
        cache.keep(topic, keyOf(spaceId, email), { holder }, marked)
        if (holder) found.push(holder)
      }
      return found
    },
  }
}

export type MembersDirectory = ReturnType<typeof createMembersDirectory>
