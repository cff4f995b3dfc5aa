import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'

/**
 * Runs `work` under V8's sampling profiler (this thread only: the servers under test, not the load
 * generator's worker thread) and writes `<dir>/<name>.cpuprofile`, for bench/profile.ts or Chrome's
 * DevTools. One profile at a time: `--cpu-prof` runs are for evidence, not for the figures.
 */
export async function withCpuProfile<T>(dir: string, name: string, work: () => Promise<T>, samplingIntervalMicros?: number): Promise<T> {
  const session = new Session()
  session.connect()
  try {
    await session.post('Profiler.enable')
    if (samplingIntervalMicros !== undefined) await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalMicros })
    await session.post('Profiler.start')
    const result = await work()
    const { profile } = await session.post('Profiler.stop')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
    return result
  } finally {
    session.disconnect()
  }
}
