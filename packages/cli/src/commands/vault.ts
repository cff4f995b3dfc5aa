import { statSync } from 'node:fs'
import { GatehouseAPI } from '@gatehouse/sdk'
import type { Command } from 'commander'
import { positiveInt, table, type Context } from '../context.js'
import { applyPlan, canonical, differences, loadDocument, namedList, type Step } from '../declarative.js'
import { CliError, EXIT } from '../errors.js'
import { createProgress } from '../progress.js'
import { registerVaultJobs } from './vault-jobs.js'
import { writeOut } from '../output.js'
import { detectFormat, readRows, RowError } from '../upload/rows.js'

type FieldDefinition = {
  type: string
  searchable?: boolean | 'equality'
  required?: boolean
  encrypted?: boolean
  /** Set by the server while a job makes the field encrypted or plain: `to` is what it becomes. */
  converting?: { job: string; to: { encrypted: boolean; searchable?: boolean | 'equality' } }
}
type Fields = Record<string, FieldDefinition>

/**
 * `searchable: false` and an absent `searchable` mean the same: compared without them. A field the
 * server is converting compares as it will be, so applying the same file again is no change.
 */
const normalFields = (fields: Fields): Fields =>
  Object.fromEntries(
    Object.entries(fields).map(([name, stored]) => {
      const f = stored.converting ? { type: stored.type, required: stored.required, ...stored.converting.to } : stored
      return [name, { type: f.type, ...(f.searchable ? { searchable: f.searchable } : {}), ...(f.required ? { required: true } : {}), ...(f.encrypted ? { encrypted: true } : {}) }]
    }),
  )

interface ModelChange {
  op: string
  field: string
  from?: string
  to?: string
  records?: number
  lossy: boolean
}

function describeChange(change: ModelChange): string {
  if (change.op === 'drop') return `DROP field ${change.field} (${change.from}): its column and ALL its values are deleted`
  if (change.op === 'add') return `add field ${change.field} (${change.to})`
  if (change.op === 'widen') return `change field ${change.field}: ${change.from} → ${change.to}`
  if (change.op === 'encrypt' || change.op === 'decrypt') {
    return `make field ${change.field} ${change.op === 'encrypt' ? 'encrypted' : 'plain'}: a background job rewrites its ${change.records ?? 0} records (follow it with gatehouse vault jobs <id> --wait)`
  }
  return `${change.op} field ${change.field}`
}

/** A model update that started conversion jobs answers them: say which, and how to follow them. */
const noteJobs = (context: Context, model: string, answer: unknown): void => {
  const jobs = (answer as { jobs?: Array<{ id: string; params: { field?: unknown } }> } | null)?.jobs ?? []
  for (const job of jobs) context.note(`model ${model}: job ${job.id} converts field ${String(job.params.field)}; follow it with: gatehouse vault jobs ${job.id} --wait`)
}

function registerApply(vault: Command, context: Context): void {
  vault
    .command('apply <file>')
    .description('Make vault models, access policies and clients match a YAML/JSON file (by name); prints the plan, applies with --yes')
    .option('--yes', 'apply the plan, including any field drops it lists')
    .option('--prune', 'also delete models, policies and clients that are not in the file (a model is deleted with all its records)')
    .addHelpText(
      'after',
      `
File:
  models:
    - name: customers
      primaryKey: id
      fields:
        id: { type: string }
        email: { type: string, searchable: true }
  policies:
    - name: support
      rules:
        customers: { actions: [read], readable: [id, email], acl: { source: none } }
  clients:
    - name: backend
      policy: support          # by name; the client secret is printed once, when it is created

A model change that drops a field lists "DROP field …" in the plan and applies only with --yes.

Examples:
  npx gatehouse vault apply vault.yaml
  npx gatehouse vault apply vault.yaml --yes`,
    )
    .action(async (file: string, options: { yes?: boolean; prune?: boolean }) => {
      const document = loadDocument(file)
      const client = context.client()
      const steps: Step[] = []
      // Deleted last, users before what they use: clients, then policies, then models.
      const prunePhase: Record<string, number> = { client: 4, policy: 5, model: 6 }
      const pruned = (type: string, name: string, run: () => Promise<unknown>) => {
        if (options.prune) steps.push({ action: 'delete', type, name, phase: prunePhase[type]!, details: type === 'model' ? ['deletes the table and ALL its records'] : [], run })
        else context.note(`(${type} '${name}' is not in ${file}: kept; --prune deletes it)`)
      }

      // Models first: policies name their fields, clients name policies.
      const models = namedList(file, document, 'models')
      const { models: currentModels } = await client.vault.model.list()
      const modelsByName = new Map(currentModels.map((model) => [model.name, model]))
      for (const want of models) {
        const body = { primaryKey: String(want.primaryKey ?? ''), fields: (want.fields ?? {}) as Fields }
        const existing = modelsByName.get(want.name)
        if (!existing) {
          steps.push({ action: 'create', type: 'model', name: want.name, phase: 0, details: Object.entries(body.fields).map(([f, d]) => `field ${f} (${d.type}${d.encrypted ? `, encrypted${d.searchable === 'equality' ? ', equality search' : ''}` : ''})`), run: () => client.vault.model.create({ name: want.name, ...body } as never) })
          continue
        }
        if (existing.primaryKey === body.primaryKey && canonical(normalFields(existing.fields as Fields)) === canonical(normalFields(body.fields))) {
          steps.push({ action: 'keep', type: 'model', name: want.name, details: [] })
          continue
        }
        // The server's own dry run: the plan shows exactly what the migration would do.
        const plan = (await client.vault.model.update(want.name, body as never, { dryRun: true })) as unknown as { changes: ModelChange[]; wouldDrop: string[]; policies: Array<{ policyName: string; field: string; places: string[] }> }
        const details = plan.changes.map(describeChange)
        for (const use of plan.policies) details.push(`access policy '${use.policyName}' names dropped field ${use.field} (${use.places.join(', ')}): the drop is refused while a policy does`)
        const final = async () => {
          const answer = await client.vault.model.update(want.name, { ...body, ...(plan.wouldDrop.length ? { drop: plan.wouldDrop } : {}) } as never)
          noteJobs(context, want.name, answer)
          return answer
        }
        if (plan.wouldDrop.length === 0) {
          steps.push({ action: 'update', type: 'model', name: want.name, details, phase: 0, run: final })
          continue
        }
        // Fields are added before the policies change (which may name them) and dropped after
        // (when no policy names them any more): two requests, one line of the plan.
        const kept = Object.fromEntries(Object.entries(existing.fields as Fields).filter(([name]) => plan.wouldDrop.includes(name)))
        if (plan.changes.some((change) => change.op !== 'drop')) {
          steps.push({ action: 'update', type: 'model', name: want.name, details: [], hidden: true, phase: 0, run: async () => {
              const answer = await client.vault.model.update(want.name, { ...body, fields: { ...body.fields, ...kept } } as never)
              noteJobs(context, want.name, answer)
              return answer
            } })
        }
        steps.push({ action: 'update', type: 'model', name: want.name, details, phase: 2, run: final })
      }
      const modelNames = new Set(models.map((model) => model.name))
      for (const model of currentModels.filter((m) => !modelNames.has(m.name))) pruned('model', model.name, () => client.vault.model.delete(model.name))

      const policies = namedList(file, document, 'policies')
      const { policies: currentPolicies } = await client.vault.policy.list()
      const policiesByName = new Map(currentPolicies.map((policy) => [policy.name, policy]))
      for (const want of policies) {
        const body = { name: want.name, rules: (want.rules ?? {}) as Record<string, never> }
        const existing = policiesByName.get(want.name)
        if (!existing) steps.push({ action: 'create', type: 'policy', name: want.name, details: [], phase: 1, run: () => client.vault.policy.create(body) })
        else if (canonical(existing.rules) === canonical(body.rules)) steps.push({ action: 'keep', type: 'policy', name: want.name, details: [] })
        else steps.push({ action: 'update', type: 'policy', name: want.name, details: differences(existing.rules, body.rules), phase: 1, run: () => client.vault.policy.replace(existing.id, body) })
      }
      const policyNames = new Set(policies.map((policy) => policy.name))
      for (const policy of currentPolicies.filter((p) => !policyNames.has(p.name))) pruned('policy', policy.name, () => client.vault.policy.delete(policy.id))

      // A policy made by this apply has no id yet: looked up when the client is made.
      const policyId = async (name: string) => {
        const found = (await client.vault.policy.list()).policies.find((policy) => policy.name === name)
        if (!found) throw new CliError(`${file}: no vault policy named '${name}'`)
        return found.id
      }
      const clients = namedList(file, document, 'clients')
      const { clients: currentClients } = await client.vault.client.list()
      const clientsByName = new Map(currentClients.map((c) => [c.name, c]))
      const createClient = (name: string, policy: string) => async () => {
        const created = await client.vault.client.create({ name, policyId: await policyId(policy) })
        context.note(`client ${name}: clientId ${created.clientId} clientSecret ${created.clientSecret} (shown once; store it now)`)
        return created
      }
      for (const want of clients) {
        const policy = String(want.policy ?? '')
        if (!policy) throw new CliError(`${file}: client '${want.name}' needs a policy (by name)`, EXIT.usage)
        const existing = clientsByName.get(want.name)
        const existingPolicy = existing ? currentPolicies.find((p) => p.id === existing.policyId)?.name : undefined
        if (!existing) steps.push({ action: 'create', type: 'client', name: want.name, details: [`policy ${policy}`], phase: 3, run: createClient(want.name, policy) })
        else if (existingPolicy === policy) steps.push({ action: 'keep', type: 'client', name: want.name, details: [] })
        else
          steps.push({
            action: 'update',
            type: 'client',
            name: want.name,
            phase: 3,
            details: [`policy ${existingPolicy ?? existing.policyId} → ${policy}: the client is replaced, with NEW credentials (the old ones stop working)`],
            run: async () => {
              await client.vault.client.delete(existing.id)
              return createClient(want.name, policy)()
            },
          })
      }
      const clientNames = new Set(clients.map((c) => c.name))
      for (const c of currentClients.filter((x) => !clientNames.has(x.name))) pruned('client', c.name, () => client.vault.client.delete(c.id))

      await applyPlan(steps, Boolean(options.yes), context.print, context.note)
    })
}

interface DataOptions {
  clientId?: string
  clientSecret?: string
}

const withClientCredentials = (command: Command) =>
  command
    .option('--client-id <id>', 'the vault client (GATEHOUSE_VAULT_CLIENT_ID)')
    .option('--client-secret <secret>', 'its secret (GATEHOUSE_VAULT_CLIENT_SECRET)')

/** The data plane speaks for one vault client: its credentials, never the admin token. */
function dataClient(context: Context, options: DataOptions) {
  const clientId = options.clientId ?? context.env.GATEHOUSE_VAULT_CLIENT_ID
  const clientSecret = options.clientSecret ?? context.env.GATEHOUSE_VAULT_CLIENT_SECRET
  if (!clientId || !clientSecret) throw new CliError('the vault data plane needs a client: --client-id and --client-secret (or GATEHOUSE_VAULT_CLIENT_ID / GATEHOUSE_VAULT_CLIENT_SECRET); gatehouse vault apply creates one', EXIT.usage)
  const settings = context.settings()
  return new GatehouseAPI({ baseUrl: settings.url, space: settings.space, token: '' }).vault.connect({ clientId, clientSecret })
}

function jsonOption(name: string, value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined
  try {
    const parsed = JSON.parse(value) as unknown
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a JSON object')
    return parsed as Record<string, unknown>
  } catch (error) {
    throw new CliError(`${name} is not a JSON object: ${(error as Error).message}`, EXIT.usage)
  }
}

function registerData(vault: Command, context: Context): void {
  withClientCredentials(vault.command('find <model>'))
    .description('Find records (as a vault client) with a filter in the find language')
    .option('--filter <json>', 'e.g. \'{"plan":{"$eq":"pro"}}\'')
    .option('--sort <json>', 'e.g. \'[{"email":"asc"}]\'')
    .option('--limit <n>', 'at most this many (1–100)', positiveInt('--limit'), 100)
    .option('--offset <n>', 'skip this many', (v) => Number(v), 0)
    .addHelpText('after', '\nExample:\n  npx gatehouse vault find customers --filter \'{"plan":{"$eq":"pro"}}\' --client-id … --client-secret …')
    .action(async (model: string, options: DataOptions & { filter?: string; sort?: string; limit: number; offset: number }) => {
      const filter = jsonOption('--filter', options.filter)
      let sort: unknown
      try {
        sort = options.sort === undefined ? undefined : JSON.parse(options.sort)
      } catch (error) {
        throw new CliError(`--sort is not JSON: ${(error as Error).message}`, EXIT.usage)
      }
      const answer = await dataClient(context, options).find(model, {
        ...(filter ? { filter } : {}),
        options: { limit: options.limit, offset: options.offset, ...(sort ? { sort: sort as never } : {}) },
      })
      context.print(answer, () => {
        const columns = [...new Set(answer.data.flatMap((record) => Object.keys(record)))].filter((c) => c !== 'created_at' && c !== 'updated_at')
        return `${table(answer.data, columns)}${answer.meta.count} of ${answer.meta.total}\n`
      })
    })

  withClientCredentials(vault.command('import <model> <file>'))
    .description('Create records from NDJSON, JSON (an array) or CSV, in all-or-nothing batches of 100')
    .option('--format <format>', 'csv, json or ndjson (default: from the file name)')
    .option('--no-progress', 'no progress output')
    .addHelpText('after', '\nExample:\n  npx gatehouse vault import customers customers.ndjson --client-id … --client-secret …')
    .action(async (model: string, file: string, options: DataOptions & { format?: string; progress: boolean }) => {
      const format = detectFormat(file, options.format)
      const data = dataClient(context, options)
      const progress = createProgress({ label: 'import', total: statSync(file).size, noun: 'records', every: 1000, enabled: options.progress })
      let batch: Array<{ line: number; record: Record<string, unknown> }> = []
      let imported = 0
      const flush = async () => {
        const lines = batch.map((row) => row.line)
        try {
          await data.createMany(model, batch.map((row) => row.record))
        } catch (error) {
          throw new RowError(file, lines[0]!, `the batch of lines ${lines[0]}–${lines[lines.length - 1]} was refused (none of it stored; ${imported} records before it were): ${(error as Error).message}`)
        }
        imported += batch.length
        batch = []
      }
      let bytes = 0
      for await (const row of readRows(file, format)) {
        batch.push(row)
        bytes = row.bytes
        if (batch.length === 100) {
          await flush()
          progress.update(bytes, imported)
        }
      }
      if (batch.length > 0) await flush()
      progress.update(bytes, imported)
      progress.stop()
      context.print({ model, imported }, () => `Imported ${imported} records into ${model}`)
    })

  withClientCredentials(vault.command('export <model>'))
    .description('Every record the client may read, as NDJSON on stdout (progress on stderr)')
    .option('--filter <json>', 'only these')
    .option('--no-progress', 'no progress output')
    .addHelpText('after', '\nExample:\n  npx gatehouse vault export customers --client-id … --client-secret … > customers.ndjson')
    .action(async (model: string, options: DataOptions & { filter?: string; progress: boolean }) => {
      const filter = jsonOption('--filter', options.filter)
      const data = dataClient(context, options)
      const progress = createProgress({ label: 'export', total: null, noun: 'records', every: 1000, enabled: options.progress })
      let offset = 0
      for (;;) {
        const page = await data.find(model, { ...(filter ? { filter } : {}), options: { limit: 100, offset } })
        for (const record of page.data) await writeOut(`${JSON.stringify(record)}\n`)
        offset += page.data.length
        progress.update(offset, offset)
        if (page.data.length < 100 || offset >= page.meta.total) break
      }
      progress.stop()
    })
}

export function registerVault(program: Command, context: Context): void {
  const vault = program.command('vault').description('The data vault: models, access policies, clients (apply), and records (find, import, export)')
  registerApply(vault, context)
  registerData(vault, context)
  registerVaultJobs(vault, context)
  vault
    .command('models')
    .description('The models and their fields')
    .action(async () => {
      const answer = await context.client().vault.model.list()
      context.print(answer, () => table(answer.models.map((m) => ({ name: m.name, primaryKey: m.primaryKey, fields: Object.entries(m.fields).map(([f, d]) => `${f}:${d.type}${d.converting ? `(→${d.converting.to.encrypted ? 'encrypted' : 'plain'}, job ${d.converting.job})` : d.encrypted ? '(encrypted)' : ''}`).join(' ') })), ['name', 'primaryKey', 'fields']))
    })
  vault
    .command('clients')
    .description('The vault clients (applications using the data plane)')
    .action(async () => {
      const answer = await context.client().vault.client.list()
      context.print(answer, () => table(answer.clients as unknown as Array<Record<string, unknown>>, ['id', 'name', 'clientId', 'policyId', 'createdAt']))
    })
}
