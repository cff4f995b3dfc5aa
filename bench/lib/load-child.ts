/**
 * A load generator in a process of its own (started by `fireFromChild`), so that the CPU time of the
 * process holding the servers is the servers' alone: `npx tsx bench/access-cpu.ts` divides it by the
 * requests answered.
 */
import { fire, type LoadOptions, type LoadResult } from './load.js'

export type LoadChildMessage = { type: 'done'; result: LoadResult } | { type: 'failed'; message: string }

const options = JSON.parse(process.argv[2] ?? '') as LoadOptions
fire(options)
  .then((result) => process.send?.({ type: 'done', result } satisfies LoadChildMessage))
  .catch((error: unknown) => process.send?.({ type: 'failed', message: (error as Error).stack ?? String(error) } satisfies LoadChildMessage))
  .finally(() => process.disconnect?.())
