import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Command } from 'commander'
import type { Context } from '../context.js'
import { CliError } from '../errors.js'

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

function serverFile(name: string): string {
  const dir = serverDir()
  if (!dir) throw new CliError(OUTSIDE_REPO)
  const file = join(dir, 'dist', name)
  if (!existsSync(file)) throw new CliError(`${file} is missing: build the server first (npm run build, or npm install in the repository)`)
  return file
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
      const main = serverFile('main.js')
      const child = spawn(process.execPath, [main, ...flagsToArgv(flags)], { stdio: 'inherit' })
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
      const file = serverFile('init.js')
      const { initStore } = (await import(pathToFileURL(file).href)) as typeof import('./server-init-types.js')
      const { store, bootstrap } = await initStore(flagsToArgv(flags))
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
