import { parseDuration, type Grant, type PetitionView } from '@gatehouse/sdk'
import { InvalidArgumentError, type Command } from 'commander'
import { fields, parseRef, positiveInt, table, type Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'

/** `1h`, `90m`, `3600` → seconds; a usage error otherwise. */
export function durationOption(value: string): number {
  try {
    return /^\d+$/.test(value) ? parseDuration(Number(value)) : parseDuration(value)
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message)
  }
}

const refs = (resources: Array<{ kind: string; id: string }>) => resources.map((r) => `${r.kind}:${r.id}`).join(' ')
const who = (petition: PetitionView) => petition.petitioners.map((p) => p.email).join(' ')

function petitionSummary(petition: PetitionView): string {
  return fields({
    id: petition.id,
    state: petition.state,
    petitioners: who(petition),
    resources: refs(petition.resources),
    reason: petition.reason || '-',
    duration: petition.durationSeconds ? `${petition.durationSeconds} s` : '-',
    policy: 'rule' in petition ? (petition.rule.policyName ?? '-') : undefined,
    reviews: petition.reviews.map((r) => `${r.reviewerEmail} ${r.decision}`).join(', ') || '-',
    decided: petition.decidedAt ?? '-',
    comment: petition.decisionComment ?? '-',
  })
}

const grantRows = (grants: Grant[]) =>
  grants.map((g) => ({ id: g.id, petitioner: g.petitioner.email, resource: `${g.resource.kind}:${g.resource.id}`, expiresAt: g.expiresAt, revoked: g.revokedAt ? 'yes' : '' }))

/** The server holds one call open at most this long; a longer --wait is several calls. */
const SERVER_MAX_WAIT_MS = 30_000

export function registerAccess(program: Command, context: Context): void {
  program
    .command('request <resources...>')
    .description('Ask for access to resources (KIND:ID …); exit 0 granted, 3 waiting for review, 4 denied')
    .option('--reason <text>', 'why (reviewers read it)')
    .option('--duration <duration>', 'how long, e.g. 1h, 90m, 1d', durationOption)
    .option('--wait <duration>', 'wait this long for a decision before answering "waiting"', durationOption)
    .option('--for <email>', 'ask on behalf of this person (default: the signed-in user)')
    .option('--emergency', 'break-glass, where a policy allows it (needs --reason)')
    .addHelpText(
      'after',
      `
Examples:
  npx gatehouse request customer:c_42 --reason "ticket 123" --duration 1h
  npx gatehouse request customer:c_42 --reason "ticket 123" --wait 30s || echo "exit $?"`,
    )
    .action(async (resources: string[], options: { reason?: string; duration?: number; wait?: number; for?: string; emergency?: boolean }) => {
      const client = context.client()
      let petitioner: { kind: 'user'; id: string; email: string }
      if (options.for) {
        petitioner = { kind: 'user', id: options.for, email: options.for }
      } else {
        const me = await client.auth.whoAmI()
        if (me.kind !== 'user' || !me.display || !me.display.includes('@')) {
          throw new CliError(`this token acts as a ${me.kind} (${me.display ?? me.subjectId}), not a person: pass --for EMAIL`, EXIT.usage)
        }
        petitioner = { kind: 'user', id: me.subjectId, email: me.display }
      }
      const body = {
        petitioners: [petitioner],
        resources: resources.map(parseRef),
        ...(options.reason ? { reason: options.reason } : {}),
        ...(options.duration ? { durationSeconds: options.duration } : {}),
        ...(options.emergency ? { emergency: true } : {}),
      }
      const deadline = Date.now() + (options.wait ?? 0) * 1000
      let outcome = await client.approvals.request({ ...body, waitMs: Math.min(SERVER_MAX_WAIT_MS, Math.max(0, deadline - Date.now())) })
      while (outcome.status === 'waiting' && Date.now() < deadline) {
        outcome = await client.approvals.request({ ...body, waitMs: Math.min(SERVER_MAX_WAIT_MS, Math.max(0, deadline - Date.now())) })
      }
      const petition = outcome.petition
      context.print(outcome, () => {
        if (outcome.status === 'granted') {
          return `Granted: ${outcome.grants.map((g) => `${g.resource.kind}:${g.resource.id} until ${g.expiresAt}`).join(', ')}`
        }
        if (outcome.status === 'waiting') return `Waiting for review: petition ${petition?.id}\n  a reviewer approves with: gatehouse approve ${petition?.id}`
        return `Denied: petition ${petition?.id}${petition?.decisionComment ? ` (${petition.decisionComment})` : ''}`
      })
      process.exitCode = outcome.status === 'granted' ? EXIT.ok : outcome.status === 'waiting' ? EXIT.waiting : EXIT.denied
    })

  const petitions = program.command('petitions').description('Requests for access and their reviews')
  petitions
    .command('list')
    .description('Petitions, newest first')
    .option('--state <state>', 'open, granted, denied or cancelled')
    .option('--petitioner <email>', 'only this person\'s')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 50)
    .option('--cursor <cursor>', 'the next page')
    .addHelpText('after', '\nExample:\n  npx gatehouse petitions list --state open')
    .action(async (options: { state?: 'open' | 'granted' | 'denied' | 'cancelled'; petitioner?: string; limit: number; cursor?: string }) => {
      const page = await context.client().petition.list({
        ...(options.state ? { state: options.state } : {}),
        ...(options.petitioner ? { petitioner: options.petitioner } : {}),
        limit: options.limit,
        ...(options.cursor ? { cursor: options.cursor } : {}),
      })
      context.print(page, () =>
        table(page.petitions.map((p) => ({ id: p.id, state: p.state, petitioners: who(p), resources: refs(p.resources), reason: p.reason, createdAt: p.createdAt })), ['id', 'state', 'petitioners', 'resources', 'reason', 'createdAt']) +
        (page.nextCursor ? `more: --cursor ${page.nextCursor}\n` : ''),
      )
    })
  petitions
    .command('show <id>')
    .description('One petition with its reviews')
    .addHelpText('after', '\nExample:\n  npx gatehouse petitions show pet_…')
    .action(async (id: string) => {
      const petition = await context.client().petition.get(id)
      context.print(petition, () => petitionSummary(petition))
    })
  petitions
    .command('cancel <id>')
    .description('Withdraw an open petition')
    .action(async (id: string) => {
      const petition = await context.client().petition.cancel(id)
      context.print(petition, () => `Cancelled petition ${petition.id}`)
    })

  const review = (decision: 'approve' | 'deny') => async (id: string, options: { comment?: string; duration?: number }) => {
    const petition = await context.client().petition.review({
      id,
      decision,
      ...(options.comment ? { comment: options.comment } : {}),
      ...(options.duration ? { durationSeconds: options.duration } : {}),
    })
    context.print(petition, () => `${decision === 'approve' ? 'Approved' : 'Denied'} petition ${petition.id}: now ${petition.state}`)
  }
  program
    .command('approve <petition>')
    .description('Approve a petition (as a reviewer)')
    .option('--duration <duration>', 'grant for this long instead of what was asked, e.g. 30m', durationOption)
    .option('--comment <text>', 'why')
    .addHelpText('after', '\nExample:\n  npx gatehouse approve pet_… --duration 30m --comment "ok for ticket 123"')
    .action(review('approve'))
  program
    .command('deny <petition>')
    .description('Deny a petition (as a reviewer)')
    .option('--comment <text>', 'why')
    .addHelpText('after', '\nExample:\n  npx gatehouse deny pet_… --comment "use the sandbox"')
    .action(review('deny'))

  const grants = program.command('grants').description('Access that was granted, while it lasts')
  grants
    .command('list')
    .description('Grants, newest first')
    .option('--petitioner <email>', 'only this person\'s')
    .option('--resource <ref>', 'only on this KIND:ID')
    .option('--active', 'only those in force now')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 50)
    .option('--cursor <cursor>', 'the next page')
    .addHelpText('after', '\nExample:\n  npx gatehouse grants list --active --resource customer:c_42')
    .action(async (options: { petitioner?: string; resource?: string; active?: boolean; limit: number; cursor?: string }) => {
      const resource = options.resource ? parseRef(options.resource) : undefined
      const page = await context.client().grant.list({
        ...(options.petitioner ? { petitioner: options.petitioner } : {}),
        ...(resource ? { resourceKind: resource.kind, resourceId: resource.id } : {}),
        ...(options.active ? { active: true } : {}),
        limit: options.limit,
        ...(options.cursor ? { cursor: options.cursor } : {}),
      })
      context.print(page, () => table(grantRows(page.grants), ['id', 'petitioner', 'resource', 'expiresAt', 'revoked']) + (page.nextCursor ? `more: --cursor ${page.nextCursor}\n` : ''))
    })
  grants
    .command('revoke <grant>')
    .description('End a grant now')
    .addHelpText('after', '\nExample:\n  npx gatehouse grants revoke gr_…')
    .action(async (id: string) => {
      const grant = await context.client().grant.revoke(id)
      context.print(grant, () => `Revoked grant ${grant.id} (${grant.petitioner.email} on ${grant.resource.kind}:${grant.resource.id})`)
    })
  program
    .command('extend <grant>')
    .description('Ask to extend a grant; a policy or a reviewer decides, as for a request')
    .option('--duration <duration>', 'for how much longer, e.g. 1h', durationOption)
    .option('--reason <text>', 'why')
    .addHelpText('after', '\nExample:\n  npx gatehouse extend gr_… --duration 1h --reason "still on ticket 123"')
    .action(async (id: string, options: { duration?: number; reason?: string }) => {
      const petition = await context.client().grant.extend(id, { ...(options.duration ? { durationSeconds: options.duration } : {}), ...(options.reason ? { reason: options.reason } : {}) })
      context.print(petition, () => `Extension asked: petition ${petition.id} is ${petition.state}`)
      process.exitCode = petition.state === 'granted' ? EXIT.ok : petition.state === 'open' ? EXIT.waiting : petition.state === 'denied' ? EXIT.denied : EXIT.ok
    })
}
