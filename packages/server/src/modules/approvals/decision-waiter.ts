import { createHash } from 'node:crypto'
import type { ChangeFeed } from '../../db/change-feed.js'

/**
 * Decision hints are spread over this many change-feed topics by petition id. A topic per petition
 * would leave one entry per decided petition in every node's feed for ever; one topic for all would
 * wake every long-poll of every node on each decision. A waiter woken by another petition of its
 * bucket only re-reads its own petition once.
 */
export const DECISION_BUCKETS = 64

export const decisionTopic = (petitionId: string): string =>
  `approvals:decided:${createHash('sha256').update(petitionId).digest().readUInt16BE(0) % DECISION_BUCKETS}`

/**
 * Wakes long-polling approval() calls when their petition is decided on any node: `notify` after
 * the decision's commit announces it on the change feed (this node's waiters at once, the others
 * through NOTIFY). A hint only: a lost one is covered by the caller's own re-check (see
 * approvals-service), never trusted for the outcome, which is always read from the database.
 */
export function createDecisionWaiter(changes: Pick<ChangeFeed, 'announce' | 'subscribe'>) {
  return {
    wait(petitionId: string, ms: number): Promise<void> {
      return new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          unsubscribe()
          resolve()
        }
        const timer = setTimeout(wake, ms)
        timer.unref?.()
        const unsubscribe = changes.subscribe(decisionTopic(petitionId), wake)
      })
    },
    notify(petitionId: string): void {
      changes.announce(decisionTopic(petitionId))
    },
  }
}

export type DecisionWaiter = ReturnType<typeof createDecisionWaiter>
