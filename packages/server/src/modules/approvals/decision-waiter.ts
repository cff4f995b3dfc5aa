/**
 * Wakes long-polling approval() calls when their petition is decided in this process. Decisions
 * made by another process are seen by the caller's own re-check (see approvals-service).
 */
export function createDecisionWaiter() {
  const waiting = new Map<string, Set<() => void>>()
  return {
    wait(petitionId: string, ms: number): Promise<void> {
      return new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          waiting.get(petitionId)?.delete(wake)
          if (waiting.get(petitionId)?.size === 0) waiting.delete(petitionId)
          resolve()
        }
        const timer = setTimeout(wake, ms)
        timer.unref?.()
        if (!waiting.has(petitionId)) waiting.set(petitionId, new Set())
        waiting.get(petitionId)!.add(wake)
      })
    },
    notify(petitionId: string): void {
      for (const wake of [...(waiting.get(petitionId) ?? [])]) wake()
    },
  }
}

export type DecisionWaiter = ReturnType<typeof createDecisionWaiter>
