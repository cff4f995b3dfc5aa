import type { Command } from 'commander'
import { durationOption } from './access.js'
import { fields, positiveInt, table, type Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'
import { readSecret } from '../prompt.js'

type Row = Record<string, unknown>
const rows = (items: unknown[]) => items as Row[]
const ROLES = ['admin', 'reviewer', 'member'] as const
type Role = (typeof ROLES)[number]

function role(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw new CliError(`--role must be admin, reviewer or member, got '${value}'`, EXIT.usage)
  return value as Role
}
const split = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean)
const example = (text: string) => `\nExample:\n  ${text}`

/** Users, groups, service accounts, tokens, webhooks and spaces: thin verbs over the SDK. */
export function registerAdmin(program: Command, context: Context): void {
  const c = () => context.client()
  const one = (value: unknown) => context.print(value, () => fields(value as Row))
  const list = (value: Record<string, unknown>, key: string, columns: string[]) =>
    context.print(value, () => table(rows(value[key] as unknown[]), columns) + (value.nextCursor ? `more: --cursor ${String(value.nextCursor)}\n` : ''))
  // The third argument is the awaited call itself: arguments are evaluated (and awaited) before done() prints.
  const done = (json: unknown, text: string, _call?: unknown) => context.print(json, () => text)
  const paging = (command: Command) => command.option('--limit <n>', 'at most this many', positiveInt('--limit'), 50).option('--cursor <cursor>', 'the next page')
  const page = (o: { limit: number; cursor?: string }) => ({ limit: o.limit, ...(o.cursor ? { cursor: o.cursor } : {}) })

  const users = program.command('users').description('People in the space')
  paging(users.command('list')).addHelpText('after', example('npx gatehouse users list')).action(async (o) => list(await c().user.list(page(o)), 'users', ['id', 'email', 'name', 'role', 'hasPassword']))
  users.command('get <id>').action(async (id: string) => one(await c().user.get(id)))
  users
    .command('create')
    .requiredOption('--email <email>', 'their email')
    .requiredOption('--name <name>', 'their name')
    .requiredOption('--role <role>', 'admin, reviewer or member', role)
    .option('--password-stdin', 'read a password for them from stdin')
    .addHelpText('after', example('npx gatehouse users create --email ada@example.com --name Ada --role reviewer'))
    .action(async (o: { email: string; name: string; role: Role; passwordStdin?: boolean }) => {
      const password = o.passwordStdin ? await readSecret('', true) : undefined
      one(await c().user.create({ email: o.email, name: o.name, role: o.role, ...(password ? { password } : {}) }))
    })
  users
    .command('update <id>')
    .option('--name <name>', 'a new name')
    .option('--role <role>', 'a new role', role)
    .action(async (id: string, o: { name?: string; role?: Role }) => one(await c().user.update(id, { ...(o.name ? { name: o.name } : {}), ...(o.role ? { role: o.role } : {}) })))
  users.command('deactivate <id>').description('Sign them out everywhere, revoke their grants, cancel their petitions').action(async (id: string) => one(await c().user.deactivate(id)))
  users.command('delete <id>').action(async (id: string) => done({ deleted: id }, `Deleted user ${id}`, await c().user.delete(id)))

  const groups = program.command('groups').description('Groups of users, for policies and reviewers')
  paging(groups.command('list')).action(async (o) => list(await c().group.list(page(o)), 'groups', ['id', 'name', 'description']))
  groups.command('get <id>').action(async (id: string) => one(await c().group.get(id)))
  groups
    .command('create <name>')
    .option('--description <text>')
    .addHelpText('after', example('npx gatehouse groups create support --description "Support engineers"'))
    .action(async (name: string, o: { description?: string }) => one(await c().group.create({ name, ...(o.description ? { description: o.description } : {}) })))
  groups.command('delete <id>').action(async (id: string) => done({ deleted: id }, `Deleted group ${id}`, await c().group.delete(id)))
  groups.command('add-member <group> <user>').action(async (group: string, user: string) => done(await c().group.addMember(group, user), `Added ${user} to ${group}`))
  groups.command('remove-member <group> <user>').action(async (group: string, user: string) => done({ removed: user, group }, `Removed ${user} from ${group}`, await c().group.removeMember(group, user)))

  const accounts = program.command('service-accounts').description('Non-human callers (CI, apps) and their tokens')
  paging(accounts.command('list')).action(async (o) => list(await c().serviceAccount.list(page(o)), 'serviceAccounts', ['id', 'name', 'role', 'description']))
  accounts.command('get <id>').action(async (id: string) => one(await c().serviceAccount.get(id)))
  accounts
    .command('create <name>')
    .requiredOption('--role <role>', 'admin, reviewer or member', role)
    .option('--description <text>')
    .addHelpText('after', example('npx gatehouse service-accounts create uploader --role member'))
    .action(async (name: string, o: { role: Role; description?: string }) => one(await c().serviceAccount.create({ name, role: o.role, ...(o.description ? { description: o.description } : {}) })))
  accounts.command('delete <id>').action(async (id: string) => done({ deleted: id }, `Deleted service account ${id}`, await c().serviceAccount.delete(id)))

  const tokens = program.command('tokens').description('API tokens of users and service accounts')
  paging(tokens.command('list')).action(async (o) => list(await c().token.list(page(o)), 'tokens', ['id', 'kind', 'name', 'prefix', 'expiresAt', 'revokedAt']))
  tokens.command('get <id>').action(async (id: string) => one(await c().token.get(id)))
  tokens
    .command('create')
    .description('Issue a token; its secret is printed once')
    .option('--user <id>', 'a short-lived token acting as this user')
    .option('--service-account <id>', 'a scoped token for this service account')
    .option('--name <name>', 'what it is for', 'cli')
    .option('--scopes <list>', 'comma-separated, e.g. resources:write,access:request (service accounts)')
    .option('--ttl <duration>', 'lifetime, e.g. 1h, 30d', durationOption)
    .addHelpText('after', example('npx gatehouse tokens create --service-account sa_… --scopes resources:write,access:request --ttl 90d'))
    .action(async (o: { user?: string; serviceAccount?: string; name: string; scopes?: string; ttl?: number }) => {
      if (Boolean(o.user) === Boolean(o.serviceAccount)) throw new CliError('tokens create needs exactly one of --user or --service-account', EXIT.usage)
      const ttl = o.ttl ? { ttlSeconds: o.ttl } : {}
      const issued = o.user
        ? await c().token.issueForUser(o.user, { name: o.name, ...ttl })
        : await c().token.issueForServiceAccount(o.serviceAccount!, { name: o.name, ...ttl, ...(o.scopes ? { scopes: split(o.scopes) as never } : {}) })
      context.print(issued, () => `${fields(issued as unknown as Row)}(the token is shown once: store it now)\n`)
    })
  tokens.command('revoke <id>').action(async (id: string) => done(await c().token.revoke(id), `Revoked token ${id}`))

  const webhooks = program.command('webhooks').description('Endpoints that receive access events (Standard Webhooks)')
  paging(webhooks.command('list')).action(async (o) => list(await c().webhook.list(page(o)), 'webhooks', ['id', 'url', 'events', 'enabled', 'disabledReason']))
  webhooks.command('get <id>').action(async (id: string) => one(await c().webhook.get(id)))
  webhooks
    .command('create <url>')
    .option('--events <list>', 'comma-separated, e.g. access/grant,access/revoke (default all)')
    .option('--description <text>')
    .addHelpText('after', example('npx gatehouse webhooks create https://hooks.example.com/gatehouse --events access/grant,access/revoke'))
    .action(async (url: string, o: { events?: string; description?: string }) =>
      one(await c().webhook.create({ url, ...(o.events ? { events: split(o.events) as never } : {}), ...(o.description ? { description: o.description } : {}) })),
    )
  webhooks
    .command('update <id>')
    .option('--url <url>')
    .option('--events <list>')
    .option('--enable')
    .option('--disable')
    .action(async (id: string, o: { url?: string; events?: string; enable?: boolean; disable?: boolean }) =>
      one(await c().webhook.update(id, { ...(o.url ? { url: o.url } : {}), ...(o.events ? { events: split(o.events) as never } : {}), ...(o.enable ? { enabled: true } : {}), ...(o.disable ? { enabled: false } : {}) })),
    )
  webhooks.command('delete <id>').action(async (id: string) => done({ deleted: id }, `Deleted webhook endpoint ${id}`, await c().webhook.delete(id)))
  webhooks.command('rotate-secret <id>').action(async (id: string) => one(await c().webhook.rotateSecret(id)))
  paging(webhooks.command('attempts <endpoint>').description('Deliveries to an endpoint and how they went'))
    .addHelpText('after', example('npx gatehouse webhooks attempts whe_…'))
    .action(async (endpoint: string, o) => list(await c().webhook.listDeliveries(endpoint, page(o)), 'deliveries', ['id', 'eventType', 'state', 'attemptCount', 'lastStatusCode', 'createdAt']))
  webhooks.command('attempt <endpoint> <delivery>').action(async (endpoint: string, delivery: string) => one(await c().webhook.getDelivery(endpoint, delivery)))
  webhooks
    .command('redeliver <endpoint> <delivery>')
    .addHelpText('after', example('npx gatehouse webhooks redeliver whe_… whd_…'))
    .action(async (endpoint: string, delivery: string) => one(await c().webhook.redeliver(endpoint, delivery)))

  const spaces = program.command('spaces').description('Spaces (tenants) on this server')
  spaces.command('list').action(async () => list(await c().space.list(), 'spaces', ['id', 'name', 'createdAt']))
  spaces
    .command('create <id>')
    .description('A new space; its admin token is printed once')
    .action(async (id: string) => {
      const created = await c().space.create({ id })
      context.print(created, () => `Created space ${id}; its admin token (shown once):\n  ${(created as unknown as { adminToken: { token: string } }).adminToken.token}\n`)
    })
}
