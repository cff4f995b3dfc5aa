import type { Policy, PolicyInput } from '@gatehouse/sdk'
import type { Command } from 'commander'
import { fields, table, type Context } from '../context.js'
import { applyPlan, canonical, differences, loadDocument, namedList, type Step } from '../declarative.js'

const INPUT_KEYS = ['name', 'priority', 'match', 'decision', 'maxDurationSeconds', 'emergency'] as const

/** What the file can say about a policy, from what the server answers. */
const inputOf = (policy: Policy): Record<string, unknown> => Object.fromEntries(INPUT_KEYS.map((key) => [key, policy[key]]).filter(([, value]) => value !== undefined && value !== null))

export function registerPolicies(program: Command, context: Context): void {
  const policies = program.command('policies').description('Access policies: who may get what, decided how')

  policies
    .command('apply <file>')
    .description('Make the access policies match a YAML/JSON file (by name); prints the plan, applies with --yes')
    .option('--yes', 'apply the plan')
    .option('--prune', 'also delete policies that are not in the file')
    .addHelpText(
      'after',
      `
File:
  policies:
    - name: support reads customers
      priority: 10
      match: { resourceKinds: [customer] }
      decision: { type: review, approvalsRequired: 1 }

Examples:
  npx gatehouse policies apply policies.yaml          # the plan only
  npx gatehouse policies apply policies.yaml --yes    # apply it; a second run says nothing to do`,
    )
    .action(async (file: string, options: { yes?: boolean; prune?: boolean }) => {
      const wanted = namedList(file, loadDocument(file), 'policies')
      const client = context.client()
      const { policies: current } = await client.policy.list()
      const byName = new Map(current.map((policy) => [policy.name, policy]))
      const steps: Step[] = wanted.map((want) => {
        const existing = byName.get(want.name)
        const body = want as unknown as PolicyInput
        if (!existing) return { action: 'create', type: 'policy', name: want.name, details: [], run: () => client.policy.create(body) }
        if (canonical(inputOf(existing)) === canonical(want)) return { action: 'keep', type: 'policy', name: want.name, details: [] }
        return { action: 'update', type: 'policy', name: want.name, details: differences(inputOf(existing), want), run: () => client.policy.replace(existing.id, body) }
      })
      const names = new Set(wanted.map((want) => want.name))
      for (const policy of current.filter((p) => !names.has(p.name))) {
        if (options.prune) steps.push({ action: 'delete', type: 'policy', name: policy.name, details: [], run: () => client.policy.delete(policy.id) })
        else context.note(`(policy '${policy.name}' is not in ${file}: kept; --prune deletes it)`)
      }
      await applyPlan(steps, Boolean(options.yes), context.print, context.note)
    })

  policies
    .command('list')
    .description('The access policies, in the order they are tried')
    .addHelpText('after', '\nExample:\n  npx gatehouse policies list --json')
    .action(async () => {
      const answer = await context.client().policy.list()
      context.print(answer, () => table(answer.policies.map((p) => ({ id: p.id, name: p.name, priority: p.priority, decision: p.decision.type, match: p.match })), ['id', 'name', 'priority', 'decision', 'match']))
    })
  policies
    .command('get <id>')
    .description('One access policy')
    .action(async (id: string) => {
      const policy = await context.client().policy.get(id)
      context.print(policy, () => fields(policy as unknown as Record<string, unknown>))
    })
  policies
    .command('delete <id>')
    .description('Delete an access policy')
    .action(async (id: string) => {
      await context.client().policy.delete(id)
      context.print({ deleted: id }, () => `Deleted policy ${id}`)
    })
}
