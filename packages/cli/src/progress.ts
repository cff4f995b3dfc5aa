import cliProgress from 'cli-progress'

export interface Progress {
  /** `done` counts units (bytes of the input, events…) toward `total`; `items` is what a person counts. */
  update(done: number, items: number): void
  stop(): void
}

/**
 * A bar with rate and ETA on a terminal; on anything else (a CI log, a test) a plain line every
 * `every` items, so logs stay readable and show the upload advancing.
 */
export function createProgress(options: { label: string; total: number | null; noun: string; every?: number; enabled?: boolean }): Progress {
  const started = Date.now()
  const rate = (items: number) => Math.round(items / Math.max((Date.now() - started) / 1000, 0.001))
  if (options.enabled === false) return { update() {}, stop() {} }
  if (process.stderr.isTTY && options.total) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${options.label} {bar} {percentage}% | {items} ${options.noun} | {rate} ${options.noun}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    )
    bar.start(options.total, 0, { items: 0, rate: 0 })
    return {
      update: (done, items) => bar.update(Math.min(done, options.total!), { items, rate: rate(items) }),
      stop: () => bar.stop(),
    }
  }
  const every = options.every ?? 10_000
  let next = every
  let last = 0
  let printed = 0
  return {
    update(done, items) {
      last = items
      if (items < next) return
      printed = items
      next = (Math.floor(items / every) + 1) * every
      const percent = options.total ? ` (${Math.min(100, Math.floor((done / options.total) * 100))}%)` : ''
      process.stderr.write(`${options.label}: ${items} ${options.noun}${percent}, ${rate(items)} ${options.noun}/s\n`)
    },
    stop() {
      if (last > printed) process.stderr.write(`${options.label}: ${last} ${options.noun} done, ${rate(last)} ${options.noun}/s\n`)
    },
  }
}
