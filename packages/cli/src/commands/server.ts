import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import type { Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'

interface ServerFlags {
  port?: string
  host?: string
  dataDir?: string
}

const OUTSIDE_REPO = `the Gatehouse server is not installed here: it ships in the Gatehouse repository, not in this package.
  To run one: git clone the repository, then npm install && npm start (or npx gatehouse serve there).
  To use one that runs elsewhere: gatehouse login --url https://gatehouse.example.com`

/** The server package's folder when the CLI runs inside the repository (a workspace), else null. */
function serverDir(): string | null {
  try {
    return dirname(fileURLToPath(import.meta.resolve('@gatehouse/server/package.json')))
  } catch {
    return null
  }
}

/**
 * How to run one of the server's programs: its built JS (what `npm start` runs), or, in a checkout
 * not built yet, its TypeScript source through tsx (a dev dependency of the repository).
 */
function serverProgram(name: 'main' | 'main-init'): string[] {
  const dir = serverDir()
  if (!dir) throw new CliError(OUTSIDE_REPO)
  const built = join(dir, 'dist', `${name}.js`)
  if (existsSync(built)) return [built]
  const source = join(dir, 'src', `${name}.ts`)
  let tsx: string | null = null
  try {
    tsx = import.meta.resolve('tsx')
  } catch {
    tsx = null
  }
  if (existsSync(source) && tsx) return ['--import', tsx, source]
  throw new CliError(`${built} is missing: build the server first (npm run build in the repository)`)
}

const flagsToArgv = (flags: ServerFlags) => [
  ...(flags.port !== undefined ? ['--port', flags.port] : []),
  ...(flags.host !== undefined ? ['--host', flags.host] : []),
  ...(flags.dataDir !== undefined ? ['--data-dir', flags.dataDir] : []),
]

const withServerFlags = (command: Command) =>
  command
    .option('--port <port>', 'port to listen on (PORT, default 8080)')
    .option('--host <host>', 'address to bind (HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'where the embedded store and keys live (GATEHOUSE_DATA_DIR, default .gatehouse)')

export function registerServer(program: Command, context: Context): void {
  withServerFlags(program.command('serve'))
    .description('Run the server, as npm start does (PGlite in --data-dir, or DATABASE_URL)')
    .addHelpText('after', '\nExample:\n  npx gatehouse serve --port 8080 --data-dir .gatehouse')
    .action(async (flags: ServerFlags) => {
      const child = spawn(process.execPath, [...serverProgram('main'), ...flagsToArgv(flags)], { stdio: 'inherit' })
      // The server drains on SIGINT/SIGTERM; this process waits for it and answers its exit code.
      const forward = (signal: NodeJS.Signals) => child.kill(signal)
      process.on('SIGINT', forward)
      process.on('SIGTERM', forward)
      const code = await new Promise<number>((resolve) => child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))))
      process.exitCode = code
    })

  withServerFlags(program.command('init'))
    .description('Create the store and the first space, print its one-time admin token, and exit (no server left running)')
    .addHelpText('after', '\nExample:\n  npx gatehouse init --data-dir .gatehouse\n  npx gatehouse login --token ghs_…')
    .action(async (flags: ServerFlags) => {
      const child = spawn(process.execPath, [...serverProgram('main-init'), ...flagsToArgv(flags)], { stdio: ['ignore', 'pipe', 'inherit'] })
      let stdout = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      const code = await new Promise<number>((resolve) => child.on('exit', (exitCode) => resolve(exitCode ?? 1)))
      if (code !== 0) throw new CliError(`init failed (see above)`, code === 2 ? EXIT.usage : EXIT.error)
      const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { store: string; space: string | null; adminToken: string | null }
      const { store } = result
      const bootstrap = result.space && result.adminToken ? { space: { id: result.space }, adminToken: { token: result.adminToken } } : null
      if (!bootstrap) {
        context.note(`${store} already holds a space: nothing to do (its admin token was shown once, when it was made).`)
        context.print({ store, space: null, adminToken: null }, () => '')
        return
      }
      const token = bootstrap.adminToken.token
      context.print({ store, space: bootstrap.space.id, adminToken: token }, () =>
        [
          `Initialised ${store}`,
          '',
          `Admin token for space '${bootstrap.space.id}' (shown once; store it now):`,
          `  ${token}`,
          '',
          'Next:',
          `  npx gatehouse serve${flagsToArgv(flags).filter((_, i, all) => all[i - 1] !== '--port' && all[i] !== '--port').map((arg) => ` ${arg}`).join('')}`,
          `  npx gatehouse login --space ${bootstrap.space.id} --token ${token}`,
        ].join('\n'),
      )
    })
}
