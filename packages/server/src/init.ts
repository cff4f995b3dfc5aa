import { pathToFileURL } from 'node:url'
import pino from 'pino'
import { ConfigError, readConfig } from './config.js'
import { createLogger } from './logger.js'
import { startServer } from './server.js'
import type { CreatedSpace } from './modules/spaces/spaces-types.js'

/**
 * `gatehouse init`: the store `npm start` would make (migrations, audit key, first space) without
 * serving. It is a start on a private loopback port, closed at once, so init and start can never
 * disagree about what a fresh store holds. `bootstrap` is null when the store already had a space.
 */
export async function initStore(argv: string[], env: Record<string, string | undefined> = process.env): Promise<{ store: string; bootstrap: CreatedSpace | null }> {
  const config = readConfig(env, argv)
  process.umask(0o077)
  // Logs go to stderr: stdout carries the result.
  const server = await startServer({ ...config, host: '127.0.0.1', port: 0 }, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2)))
  await server.close()
  return { store: server.store, bootstrap: server.bootstrap }
}

// Run as a program (by `gatehouse init`, from dist or from source): one line of JSON on stdout.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  initStore(process.argv.slice(2)).then(
    ({ store, bootstrap }) => {
      process.stdout.write(`${JSON.stringify({ store, space: bootstrap?.space.id ?? null, adminToken: bootstrap?.adminToken.token ?? null })}\n`)
      process.exit(0)
    },
    (error: unknown) => {
      process.stderr.write(`gatehouse: ${error instanceof ConfigError ? 'configuration error' : 'init failed'}: ${(error as Error).message}\n`)
      process.exit(error instanceof ConfigError ? 2 : 1)
    },
  )
}
