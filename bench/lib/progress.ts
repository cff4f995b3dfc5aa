import cliProgress from 'cli-progress'
import type { Progress } from './types.js'

const silent: Progress = { tick: () => undefined, stop: () => undefined }

/**
 * A progress bar on stderr, so stdout keeps only the table. Off when stderr is not a terminal (CI
 * logs, the smoke test): a redrawn bar there is only noise.
 */
export function progressBar(label: string, total: number, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY || total <= 0) return silent
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `  ${label.padEnd(34)} [{bar}] {percentage}% | {value}/{total} | {duration_formatted} elapsed, ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  )
  bar.start(total, 0)
  let stopped = false
  return {
    tick: (count = 1) => bar.increment(count),
    stop: () => {
      if (stopped) return
      stopped = true
      bar.stop()
    },
  }
}
