import { Option, type Command } from 'commander'
import { fields, positiveInt, table, type Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'
import { createProgress } from '../progress.js'

const STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const
const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])

/**
 * `gatehouse vault jobs [id] [--wait]`: the vault's background jobs (re-encryption, re-indexing).
 * With an id and --wait, follows the job with a progress bar until it ends; exits 1 unless it succeeded.
 */
export function registerVaultJobs(vault: Command, context: Context): void {
  vault
    .command('jobs [id]')
    .description('Background jobs (re-encryption after a key rotation, re-indexing): list them, or show one; --wait follows it to the end')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(STATES))
    .option('--wait', 'with an id: wait until the job ends, showing its progress')
    .option('--interval <ms>', 'how often --wait asks (default 1000)', positiveInt('--interval'), 1000)
    .action(async (id: string | undefined, options: { state?: (typeof STATES)[number]; wait?: boolean; interval: number }) => {
      const client = context.client()
      if (!id) {
        if (options.wait) throw new CliError('--wait needs a job id: gatehouse vault jobs <id> --wait', EXIT.usage)
        const answer = await client.vault.job.list(options.state ? { state: options.state } : {})
        context.print(answer, () =>
          table(
            answer.jobs.map((job) => ({ id: job.id, kind: job.kind, state: job.state, progress: job.total === null ? `${job.done}` : `${job.done}/${job.total}`, created: job.createdAt, error: job.error })),
            ['id', 'kind', 'state', 'progress', 'created', 'error'],
          ),
        )
        return
      }
      let job = await client.vault.job.get(id)
      if (options.wait && !FINISHED.has(job.state)) {
        context.note(`waiting for ${job.kind} job ${job.id} (${job.state}, ${job.done}${job.total === null ? '' : ` of ${job.total}`} done)`)
        const progress = createProgress({ label: `${job.kind} ${job.id}`, total: job.total, noun: 'records', every: 1 })
        while (!FINISHED.has(job.state)) {
          progress.update(job.done, job.done)
          await new Promise((resolve) => setTimeout(resolve, options.interval))
          job = await client.vault.job.get(id)
        }
        progress.update(job.done, job.done)
        progress.stop()
      }
      context.print(job, () => fields({ ...job, params: job.params }))
      if (options.wait && job.state !== 'succeeded') throw new CliError(`job ${job.id} ended ${job.state}${job.error ? `: ${job.error}` : ''}`, EXIT.error)
    })
}
