import { Command, CommanderError, Option } from 'commander'
import { createContext } from './context.js'
import { describeError, EXIT } from './errors.js'
import type { Env } from './profiles.js'
import { registerAccess } from './commands/access.js'
import { registerAdmin } from './commands/admin.js'
import { registerAudit } from './commands/audit.js'
import { registerAuth } from './commands/auth.js'
import { registerPolicies } from './commands/policies.js'
import { registerResources } from './commands/resources.js'
import { registerServer } from './commands/server.js'
import { registerVault } from './commands/vault.js'
import { VERSION } from './version.js'

export const EXIT_CODES_HELP = `
Exit codes: 0 ok, 1 error, 2 usage, 3 waiting (a request awaits review), 4 denied.
Settings: --url/--space/--token beat GATEHOUSE_URL/GATEHOUSE_SPACE/GATEHOUSE_API_TOKEN,
which beat the profile in $XDG_CONFIG_HOME/gatehouse/config.json (~/.config/gatehouse/config.json).
Docs: docs/cli.md`

export function buildProgram(env: Env): Command {
  const program = new Command('gatehouse')
  program
    .description('Least-privilege access to customer data, from the terminal')
    .version(VERSION)
    .option('--profile <name>', 'the saved profile to use (GATEHOUSE_PROFILE)')
    .option('--url <url>', 'the server, e.g. http://127.0.0.1:8080 (GATEHOUSE_URL)')
    .option('--space <space>', 'the space (GATEHOUSE_SPACE)')
    .addOption(new Option('--token <token>', 'an API token (GATEHOUSE_API_TOKEN)'))
    .option('--json', 'print the API answer as JSON')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
  const context = createContext(program, env)
  registerServer(program, context)
  registerAuth(program, context)
  registerResources(program, context)
  registerAccess(program, context)
  registerPolicies(program, context)
  registerVault(program, context)
  registerAudit(program, context)
  registerAdmin(program, context)
  // Commander's own errors (unknown option, missing argument) become exit code 2 below.
  const exitOverride = (command: Command) => {
    command.exitOverride()
    command.commands.forEach(exitOverride)
  }
  exitOverride(program)
  return program
}

/** Runs one command line in `env`; answers the exit code instead of exiting, so tests and main share it. */
export async function run(argv: string[], env: Env): Promise<number> {
  const program = buildProgram(env)
  try {
    await program.parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok
      return EXIT.usage
    }
    let url: string | undefined
    try {
      url = buildUrlHint(program, env)
    } catch {
      url = undefined
    }
    const { text, exitCode } = describeError(error, url)
    process.stderr.write(`${text}\n`)
    return exitCode
  }
}

function buildUrlHint(program: Command, env: Env): string | undefined {
  return createContext(program, env).settings().url
}
