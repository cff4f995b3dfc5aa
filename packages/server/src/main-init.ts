// `gatehouse init` runs this program (from dist, or from source through tsx): the environment is
// read here, once, and one line of JSON goes to stdout.
import { ConfigError } from './config.js'
import { initStore } from './init.js'

initStore(process.argv.slice(2), process.env).then(
  ({ store, bootstrap }) => {
    process.stdout.write(`${JSON.stringify({ store, space: bootstrap?.space.id ?? null, adminToken: bootstrap?.adminToken.token ?? null })}\n`)
    process.exit(0)
  },
  (error: unknown) => {
    process.stderr.write(`gatehouse: ${error instanceof ConfigError ? 'configuration error' : 'init failed'}: ${(error as Error).message}\n`)
    process.exit(error instanceof ConfigError ? 2 : 1)
  },
)
