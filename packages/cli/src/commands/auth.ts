import { spawn } from 'node:child_process'
import { GatehouseAPI, signInWithSso, SsoSignInError } from '@gatehouse/sdk'
import type { Command } from 'commander'
import { fields, table, type Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'
import { profileNameOf, readConfigFile, writeConfigFile, type Profile } from '../profiles.js'
import { readSecret } from '../prompt.js'

/** Best effort: the URL is printed anyway, so a machine without a browser opener still works. */
function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]]
  try {
    const child = spawn(command as string, args as string[], { stdio: 'ignore', detached: true })
    child.on('error', () => undefined)
    child.unref()
  } catch {
    // No opener: the printed URL is the way.
  }
}

export function registerAuth(program: Command, context: Context): void {
  program
    .command('login')
    .description('Sign in (email and password, or an API token) and save the profile')
    .option('--email <email>', 'sign in as this user (asks for the password)')
    .option('--password-stdin', 'read the password from stdin (for scripts)')
    .option('--sso <provider>', "sign in through the space's identity provider (browser, loopback redirect)")
    .option('--no-browser', 'with --sso: print the sign-in URL instead of opening a browser')
    .addHelpText(
      'after',
      `
Examples:
  npx gatehouse login --url http://127.0.0.1:8080 --space default --email ada@example.com
  echo "$PASSWORD" | npx gatehouse login --email ada@example.com --password-stdin
  npx gatehouse login --token ghs_…            # an API token, e.g. the one npm start printed
  npx gatehouse login --sso okta               # single sign-on: a browser opens, you sign in there
  npx gatehouse login --profile prod --url https://gatehouse.example.com --email ada@example.com`,
    )
    .action(async (options: { email?: string; passwordStdin?: boolean; sso?: string; browser: boolean }) => {
      const settings = context.settingsForNewProfile()
      let token: string
      if (options.sso) {
        // Checked first: a browser sent to an unknown provider would leave this command waiting.
        const { providers } = await new GatehouseAPI({ baseUrl: settings.url, space: settings.space }).sso.signInOptions()
        if (!providers.some((provider) => provider.id === options.sso)) {
          const known = providers.map((provider) => `${provider.id} (${provider.displayName})`).join(', ')
          throw new CliError(`space '${settings.space}' has no enabled single sign-on provider '${options.sso}'; ${known ? `it has: ${known}` : 'it has none'}`, EXIT.usage)
        }
        const issued = await signInWithSso({
          baseUrl: settings.url,
          space: settings.space,
          provider: options.sso,
          openBrowser: (url) => {
            process.stderr.write(`Sign in at this address (waiting for the browser to come back):\n  ${url}\n`)
            if (options.browser) openInBrowser(url)
          },
        }).catch((error: unknown) => {
          throw error instanceof SsoSignInError ? new CliError(`single sign-on failed (${error.code}): ${error.message}`) : error
        })
        token = issued.token
      } else if (options.email) {
        const password = await readSecret(`Password for ${options.email}: `, Boolean(options.passwordStdin))
        if (!password) throw new CliError('no password given', EXIT.usage)
        const anonymous = new GatehouseAPI({ baseUrl: settings.url, space: settings.space, token: '' })
        const issued = await anonymous.auth.signIn({ email: options.email, password })
        token = issued.token
      } else if (settings.token) {
        token = settings.token
      } else {
        throw new CliError('login needs --email (password sign-in), --sso PROVIDER (single sign-on) or --token (an API token)', EXIT.usage)
      }
      // The token is checked before it is saved: a typo must not become the profile.
      const me = await new GatehouseAPI({ baseUrl: settings.url, space: settings.space, token }).auth.whoAmI()
      const file = readConfigFile(context.configPath())
      const profile: Profile = { url: settings.url, space: settings.space, token, ...(options.email ? { email: options.email } : {}) }
      file.profiles[settings.profileName] = profile
      file.current = settings.profileName
      writeConfigFile(file, context.configPath())
      context.print({ profile: settings.profileName, url: settings.url, ...me }, () =>
        `Signed in to ${settings.url} space '${me.space}' as ${me.display ?? me.subjectId} (${me.kind}, role ${me.role}); saved as profile '${settings.profileName}' in ${context.configPath()}`,
      )
    })

  program
    .command('logout')
    .description('Forget the profile\'s token; a token from a password sign-in is revoked on the server too')
    .addHelpText('after', '\nExample:\n  npx gatehouse logout --profile prod')
    .action(async () => {
      const settings = context.settings()
      const file = readConfigFile(context.configPath())
      const profile = Object.hasOwn(file.profiles, settings.profileName) ? file.profiles[settings.profileName] : undefined
      if (!profile?.token) {
        context.note(`profile '${settings.profileName}' is not signed in: nothing to do`)
        return
      }
      // A signed-in user's token is theirs to revoke; an API token given to `login --token` (a
      // service account's, the bootstrap admin's) may be in use elsewhere, so it is only forgotten.
      if (profile.email) {
        await new GatehouseAPI({ baseUrl: profile.url ?? settings.url, space: profile.space ?? settings.space, token: profile.token }).auth.signOut().catch((error: unknown) => {
          if ((error as { status?: number }).status !== 401) throw error
        })
      }
      delete profile.token
      writeConfigFile(file, context.configPath())
      context.note(`Signed out of profile '${settings.profileName}'${profile.email ? ' (token revoked)' : ' (token forgotten locally; revoke it with gatehouse tokens revoke if no longer needed)'}`)
    })

  program
    .command('whoami')
    .description('Who the current token acts as, in which space, with which role and scopes')
    .addHelpText('after', '\nExample:\n  npx gatehouse whoami --json')
    .action(async () => {
      const settings = context.settings()
      const me = await context.client().auth.whoAmI()
      context.print(me, () => fields({ url: settings.url, profile: settings.profileName, ...me, scopes: me.scopes.join(' ') || '-' }))
    })

  const config = program.command('config').description('Saved profiles (URL, space, token) in ~/.config/gatehouse/config.json')
  config
    .command('list')
    .description('The saved profiles; * marks the current one')
    .addHelpText('after', '\nExample:\n  npx gatehouse config list')
    .action(() => {
      const file = readConfigFile(context.configPath())
      const rows = Object.entries(file.profiles).map(([name, profile]) => ({
        current: name === (file.current ?? 'default') ? '*' : '',
        name,
        url: profile.url,
        space: profile.space,
        user: profile.email,
        signedIn: profile.token ? 'yes' : 'no',
      }))
      context.print({ current: file.current ?? null, profiles: rows.map(({ current: _, signedIn, ...row }) => ({ ...row, signedIn: signedIn === 'yes' })) }, () =>
        table(rows, ['current', 'name', 'url', 'space', 'user', 'signedIn'], `no profiles yet in ${context.configPath()}: run gatehouse login`),
      )
    })
  config
    .command('use <profile>')
    .description('Make a saved profile the current one')
    .addHelpText('after', '\nExample:\n  npx gatehouse config use prod')
    .action((name: string) => {
      const file = readConfigFile(context.configPath())
      if (!Object.hasOwn(file.profiles, name)) throw new CliError(`no profile '${name}' (known: ${Object.keys(file.profiles).join(', ') || 'none'})`, EXIT.usage)
      file.current = name
      writeConfigFile(file, context.configPath())
      context.note(`Now using profile '${name}'`)
    })
  config
    .command('set <key> <value>')
    .description('Set url or space of the profile (--profile, else the current one)')
    .addHelpText('after', '\nExample:\n  npx gatehouse config set url https://gatehouse.example.com')
    .action((key: string, value: string) => {
      if (key !== 'url' && key !== 'space') throw new CliError(`config set takes url or space, not '${key}' (tokens come from gatehouse login)`, EXIT.usage)
      if (key === 'url' && !/^https?:\/\//.test(value)) throw new CliError(`url must start with http:// or https://, got '${value}'`, EXIT.usage)
      const file = readConfigFile(context.configPath())
      const name = profileNameOf(context.options, context.env, file)
      file.profiles[name] = { ...file.profiles[name], [key]: value }
      file.current ??= name
      writeConfigFile(file, context.configPath())
      context.note(`Profile '${name}': ${key} = ${value}`)
    })
  config
    .command('path')
    .description('Where the profiles are saved')
    .action(() => context.print({ path: context.configPath() }, () => context.configPath()))
}
