import pino from 'pino'
import { readConfig } from './config.js'
import { createLogger } from './logger.js'
import { startServer } from './server.js'
import type { CreatedSpace } from './modules/spaces/spaces-types.js'

/**
 * `gatehouse init`: the store `npm start` would make (migrations, audit key, first space) without
 * serving. It is a start on a private loopback port, closed at once, so init and start can never
 * disagree about what a fresh store holds. `bootstrap` is null when the store already had a space.
 */
export async function initStore(argv: string[], env: Record<string, string | undefined>): Promise<{ store: string; bootstrap: CreatedSpace | null }> {
  const config = readConfig(env, argv)
  process.umask(0o077)
  // Logs go to stderr: stdout carries the result.
  const server = await startServer({ ...config, host: '127.0.0.1', port: 0 }, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2)))
  await server.close()
  return { store: server.store, bootstrap: server.bootstrap }
}
