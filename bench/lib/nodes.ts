import { fork, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { NodeChildConfig, NodeChildMessage, NodeParentMessage } from './node-child.js'
import type { StoreLocation } from './stores.js'

const CHILD = fileURLToPath(new URL('./node-child.ts', import.meta.url))
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface RssSample {
  at: number
  rss: number
  /** V8's heapUsed at the same instant (bytes). */
  heapUsed: number
  /** V8's heap as committed (used or not), and memory outside it held by JS objects (Buffers): bytes. */
  heapTotal: number
  external: number
}

/** A Gatehouse server process on the shared store. */
export interface NodeProcess {
  url: string
  pid: number
  /** Every RSS sample the node sent (one a second), oldest first. */
  rss: RssSample[]
  stop(): Promise<void>
}

/** Starts `count` server processes on one store at once (each checks the migrations under the lock, as servers starting together do). */
export async function startNodes(location: StoreLocation, count: number, options: { changePollMs?: number; maxSeconds: number }): Promise<NodeProcess[]> {
  const signerPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startNode({ location, signerPem, changePollMs: options.changePollMs ?? 100, maxSeconds: options.maxSeconds })),
  )
  const nodes = started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))
  const failed = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')
  if (failed) {
    await Promise.allSettled(nodes.map((node) => node.stop()))
    throw failed.reason
  }
  return nodes
}

async function startNode(config: NodeChildConfig): Promise<NodeProcess> {
  const child: ChildProcess = fork(CHILD, [JSON.stringify(config)], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const rss: RssSample[] = []
  let failure: string | null = null
  child.on('message', (message: NodeChildMessage) => {
    if (message.type === 'rss') rss.push({ at: message.at, rss: message.rss, heapUsed: message.heapUsed, heapTotal: message.heapTotal, external: message.external })
    if (message.type === 'failed') failure = message.message
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error('node child: not listening within 120 s')), 120_000)
    const onMessage = (message: NodeChildMessage) => {
      if (message.type === 'listening') done(null, message.port)
      else if (message.type === 'failed') done(new Error(`node child failed: ${message.message}`))
    }
    const onExit = (code: number | null) => done(new Error(`node child exited (${code}) before listening${failure ? `: ${failure}` : ''}`))
    function done(error: Error | null, value?: number) {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      if (error) {
        child.kill('SIGKILL')
        reject(error)
      } else resolve(value!)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
  let stopped: Promise<void> | null = null
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    rss,
    stop: () =>
      (stopped ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.send({ type: 'exit' } satisfies NodeParentMessage)
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        await exited
        clearTimeout(timer)
      })()),
  }
}
