#!/usr/bin/env node
import { ConfigError, readConfig, type Config } from './config.js'
import { createLogger } from './logger.js'
import { startServer, type RunningServer } from './server.js'

function banner(server: RunningServer): string {
  const lines = [
    '',
    'Gatehouse is running',
    `  Console: ${server.url}/console`,
    `  API:     ${server.url}/v1`,
    `  Docs:    ${server.url}/docs   (OpenAPI: ${server.url}/openapi.json)`,
    `  Store:   ${server.store}`,
  ]
  if (server.bootstrap) {
    const { space, adminToken } = server.bootstrap
    lines.push(
      '',
      `  Admin token for space '${space.id}' (shown once; store it now):`,
      `    ${adminToken.token}`,
      '',
      `  First admin: open ${server.url}/console/setup and paste this token to create your admin user.`,
      '',
      '  Try it:',
      `    curl -H "Authorization: Bearer ${adminToken.token}" ${server.url}/v1/spaces/${space.id}`,
    )
  }
  return `${lines.join('\n')}\n\n`
}

async function main(): Promise<void> {
  let config: Config
  try {
    config = readConfig(process.env, process.argv.slice(2))
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`gatehouse: configuration error: ${error.message}\n`)
      process.exit(2)
    }
    throw error
  }
  const logger = createLogger(config.logLevel)
  // Everything this process creates (the store's files, keys, the lock file) is owner-only, whatever
  // umask it was started with.
  process.umask(0o077)
  const server = await startServer(config, logger)

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'draining in-flight requests, then closing the database')
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting')
      process.exit(1)
    }, config.shutdownTimeoutMs)
    timer.unref()
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
  // Printed last: whoever reads the banner and signals at once finds the handlers in place.
  process.stdout.write(banner(server))
}

main().catch((error: unknown) => {
  process.stderr.write(`gatehouse: failed to start: ${(error as Error).message}\n`)
  process.exit(1)
})
