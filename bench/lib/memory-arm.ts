import { fork, type ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { formatNumber, MiB, round } from './data.js'
import type { ChildMessage, MemoryArm, MemoryChildConfig, ParentMessage } from './memory-child.js'
import type { StoreLocation } from './stores.js'
import type { Figure, Ratio } from './types.js'

export type { MemoryArm }

export const MEMORY_GOAL_MIB = 100
export const SAMPLE_MS = 50
const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** Below this, "above idle" is noise: both arms' figures are floored to it before dividing. */
const FLOOR_MIB = 1

function nextMessage<T extends ChildMessage['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`memory child: no '${type}' within ${timeoutMs} ms`)), timeoutMs)
    const onMessage = (message: ChildMessage) => {
      if (message.type === 'failed') finish(new Error(`memory child failed: ${message.message}`))
      else if (message.type === type) finish(null, message as Extract<ChildMessage, { type: T }>)
    }
    const onExit = (code: number | null) => finish(new Error(`memory child exited (${code}) before '${type}'`))
    function finish(error: Error | null, message?: Extract<ChildMessage, { type: T }>) {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      if (error) reject(error)
      else resolve(message!)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

export interface ArmMemory<T> {
  /** RSS the store added when the server opened it (PGlite: the whole embedded Postgres). */
  storeOpen: number
  idle: number
  peak: number
  /** RSS when the work was done (before any collection). */
  end: number
  samples: number
  curve: number[]
  /** How long `work` took. */
  seconds: number
  /** What `work` answered. */
  outcome: T
}

export interface MemoryRun<T> {
  arm: MemoryArm
  location: StoreLocation
  space: string
  findTable?: string
  timeoutSeconds: number
  /** One small request through the measured path, so idle is a server whose code has run. */
  warmUp(baseUrl: string): Promise<void>
  /** The measured work, against the child's server. */
  work(baseUrl: string): Promise<T>
}

/**
 * Peak RSS above idle of one server while it does `work`, in a fresh child process (memory-child.ts
 * says why): start, warm up, collect garbage until the RSS stops moving (idle), do the work while a
 * worker thread samples RSS, report, exit.
 */
export async function measureMemory<T>(run: MemoryRun<T>): Promise<ArmMemory<T>> {
  // The child also bounds itself: opening the store and the warm-up come on top of the work.
  const config: MemoryChildConfig = {
    arm: run.arm,
    location: run.location,
    space: run.space,
    ...(run.findTable ? { findTable: run.findTable } : {}),
    sampleMs: SAMPLE_MS,
    maxSeconds: run.timeoutSeconds + 180,
  }
  const child = fork(CHILD, [JSON.stringify(config)], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const send = (message: ParentMessage) => child.send(message)
  try {
    const { port, storeOpen } = await nextMessage(child, 'listening', 180_000)
    const base = `http://127.0.0.1:${port}`
    await run.warmUp(base)
    send({ type: 'settle' })
    const { rss: idle } = await nextMessage(child, 'idle', 30_000)
    const started = performance.now()
    const outcome = await run.work(base)
    const seconds = (performance.now() - started) / 1000
    send({ type: 'report' })
    const report = await nextMessage(child, 'report', 30_000)
    send({ type: 'exit' })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
    return { storeOpen: storeOpen.after - storeOpen.before, idle, peak: report.peak, end: report.end, samples: report.samples, curve: report.curve, seconds, outcome }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

export const aboveIdleMiB = (arm: ArmMemory<unknown>) => (arm.peak - arm.idle) / MiB

export function memoryRatio(gatehouse: ArmMemory<unknown>, baseline: ArmMemory<unknown>): Ratio {
  return {
    name: 'memory above idle',
    value: Math.max(aboveIdleMiB(gatehouse), FLOOR_MIB) / Math.max(aboveIdleMiB(baseline), FLOOR_MIB),
    formula: `Gatehouse (peak − idle) ÷ baseline (peak − idle), each at least ${FLOOR_MIB} MiB`,
  }
}

export const memoryGoal = (gatehouse: ArmMemory<unknown>) => ({ text: `< ${MEMORY_GOAL_MIB} MiB above idle`, met: aboveIdleMiB(gatehouse) < MEMORY_GOAL_MIB })

/** "+3.0 MiB peak RSS over 457 MiB idle" */
export const memoryCell = (arm: ArmMemory<unknown>) => `+${formatNumber(aboveIdleMiB(arm), 1)} MiB peak RSS over ${formatNumber(arm.idle / MiB)} MiB idle`

export const memoryFigures = (arm: ArmMemory<unknown>): Record<string, Figure> => ({
  aboveIdle: { value: round(aboveIdleMiB(arm), 1), unit: 'MiB' },
  idleRss: { value: round(arm.idle / MiB, 1), unit: 'MiB' },
  storeOpenRss: { value: round(arm.storeOpen / MiB, 1), unit: 'MiB' },
  peakRss: { value: round(arm.peak / MiB, 1), unit: 'MiB' },
  seconds: { value: round(arm.seconds, 2), unit: 's' },
  samples: { value: arm.samples, unit: 'samples' },
})

/** The RSS curve of each server through its work (MiB, idle first): where the peak came from. */
export const rssCurves = (gatehouse: ArmMemory<unknown>, baseline: ArmMemory<unknown>) =>
  Object.fromEntries(([['gatehouse', gatehouse], ['baseline', baseline]] as const).map(([arm, result]) => [arm, [result.idle, ...result.curve].map((bytes) => round(bytes / MiB, 1))]))

export const storeOpenNote = (gatehouse: ArmMemory<unknown>, sharedBuffers: string) =>
  `PGlite runs inside the server process: opening the store added ${formatNumber(gatehouse.storeOpen / MiB)} MiB of RSS (the WebAssembly Postgres with its shared_buffers = ${sharedBuffers}), already resident at idle in both arms.`
