import type { FastifyBaseLogger } from 'fastify'

/**
 * Runs `work` every `intervalMs`, never overlapping itself; `stop()` waits for a run in progress.
 * For housekeeping whose lateness costs nothing but a delayed notice.
 */
export function createPeriodicTask(name: string, work: () => Promise<unknown>, intervalMs: number, logger?: FastifyBaseLogger) {
  let timer: NodeJS.Timeout | null = null
  let running: Promise<unknown> | null = null
  const tick = () => {
    running = work()
      .catch((error: unknown) => logger?.error({ err: error, task: name }, 'periodic task failed'))
      .finally(() => {
        running = null
        if (timer) timer = setTimeout(tick, intervalMs).unref()
      })
  }
  return {
    start() {
      if (!timer) timer = setTimeout(tick, intervalMs).unref()
    },
    async stop() {
      if (timer) clearTimeout(timer)
      timer = null
      await running
    },
  }
}
