import { createReadStream, readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { verifyExport, type AuditEvent, type KeptCheckpoint } from '@gatehouse/sdk'
import type { Command } from 'commander'
import { fields, positiveInt, table, type Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'
import { createProgress } from '../progress.js'
import { writeOut } from '../output.js'

interface Filter {
  from?: string
  to?: string
  actor?: string
  event?: string
  resource?: string
}

const withFilter = (command: Command) =>
  command
    .option('--from <time>', 'only events at or after this ISO time')
    .option('--to <time>', 'only events before this ISO time')
    .option('--actor <id>', 'only this actor (user, service account)')
    .option('--event <name>', 'only this event, e.g. petition/review')
    .option('--resource <ref>', 'only events naming this KIND:ID')

function query(filter: Filter) {
  const at = filter.resource?.indexOf(':') ?? -1
  if (filter.resource !== undefined && at <= 0) throw new CliError(`--resource '${filter.resource}' is not KIND:ID`, EXIT.usage)
  return {
    ...(filter.from ? { from: filter.from } : {}),
    ...(filter.to ? { to: filter.to } : {}),
    ...(filter.actor ? { actor: filter.actor } : {}),
    ...(filter.event ? { event: filter.event } : {}),
    ...(filter.resource ? { resourceKind: filter.resource.slice(0, at), resourceId: filter.resource.slice(at + 1) } : {}),
  }
}

const line = (e: AuditEvent) => `${e.time}  #${e.seq}  ${e.event}  by ${e.actor.display ?? e.actor.id}${e.resources.length ? `  on ${e.resources.map((r) => `${r.kind}:${r.id}`).join(' ')}` : ''}`

/**
 * Checkpoints kept outside the database: a C2SP signed note as text (what `audit checkpoint --out
 * x.note` writes), or JSON — an object, an array, or one per line (a checkpoint answered by the
 * API carries its note; old hash-chain checkpoints are JSON too).
 */
function readCheckpoints(files: string[]): KeptCheckpoint[] {
  return files.flatMap((file): KeptCheckpoint[] => {
    const text = readFileSync(file, 'utf8')
    const trimmed = text.trim()
    if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) {
      if (!/\n\n\u2014 /.test(text)) throw new CliError(`${file}: not a checkpoint (a signed note, or JSON)`, EXIT.usage)
      return [text.endsWith('\n') ? text : `${text}\n`]
    }
    try {
      if (trimmed.startsWith('[')) return JSON.parse(trimmed) as KeptCheckpoint[]
      return trimmed.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as KeptCheckpoint)
    } catch {
      try {
        return [JSON.parse(trimmed) as KeptCheckpoint]
      } catch (error) {
        throw new CliError(`${file}: not a checkpoint (a signed note, JSON object, array or NDJSON): ${(error as Error).message}`, EXIT.usage)
      }
    }
  })
}

const noteOf = (kept: KeptCheckpoint): string | null => (typeof kept === 'string' ? kept : 'note' in kept && typeof kept.note === 'string' ? kept.note : null)

/** The events of an NDJSON export, one at a time: the file is never read whole. */
async function* exportedEvents(file: string): AsyncGenerator<Parameters<typeof verifyExport>[0] extends Iterable<infer E> | AsyncIterable<infer E> ? E : never> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })
  let number = 0
  for await (const text of lines) {
    number += 1
    if (!text.trim()) continue
    try {
      yield JSON.parse(text)
    } catch (error) {
      throw new CliError(`${file}:${number}: not a JSON event: ${(error as Error).message}`)
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function registerAudit(program: Command, context: Context): void {
  const audit = program.command('audit').description('The tamper-evident audit log')

  withFilter(audit.command('tail'))
    .description('The latest events, oldest first; --follow keeps printing new ones')
    .option('-n, --lines <n>', 'how many to show first', positiveInt('--lines'), 20)
    .option('-f, --follow', 'keep watching for new events (Ctrl-C stops)')
    .option('--interval <seconds>', 'how often --follow asks', positiveInt('--interval'), 2)
    .addHelpText('after', '\nExamples:\n  npx gatehouse audit tail -n 50\n  npx gatehouse audit tail --follow --event petition/review')
    .action(async (options: Filter & { lines: number; follow?: boolean; interval: number }) => {
      const client = context.client()
      const filter = query(options)
      const show = (events: AuditEvent[]) => {
        for (const e of events) process.stdout.write(context.options.json ? `${JSON.stringify(e)}\n` : `${line(e)}\n`)
      }
      const first = await client.audit.list({ ...filter, limit: Math.min(options.lines, 500) })
      const latest = [...first.events].reverse()
      show(latest)
      let lastSeq = latest.at(-1)?.seq ?? 0
      while (options.follow) {
        await sleep(options.interval * 1000)
        // Newest first: read pages until the last event already shown.
        const fresh: AuditEvent[] = []
        let cursor: string | undefined
        for (;;) {
          const page = await client.audit.list({ ...filter, limit: 100, ...(cursor ? { cursor } : {}) })
          const newer = page.events.filter((e) => e.seq > lastSeq)
          fresh.push(...newer)
          if (newer.length < page.events.length || !page.nextCursor) break
          cursor = page.nextCursor
        }
        fresh.sort((a, b) => a.seq - b.seq)
        show(fresh)
        lastSeq = fresh.at(-1)?.seq ?? lastSeq
      }
    })

  withFilter(audit.command('export'))
    .description('Every matching event, oldest first, as NDJSON on stdout (progress on stderr)')
    .option('--no-progress', 'no progress output')
    .addHelpText('after', '\nExample:\n  npx gatehouse audit export --from 2026-01-01T00:00:00Z > audit.ndjson')
    .action(async (options: Filter & { progress: boolean }) => {
      const progress = createProgress({ label: 'export', total: null, noun: 'events', every: 1000, enabled: options.progress })
      let count = 0
      for await (const event of context.client().audit.export(query(options), { timeout: 10 * 60_000 })) {
        await writeOut(`${JSON.stringify(event)}\n`)
        count += 1
        progress.update(count, count)
      }
      progress.stop()
      context.note(`exported ${count} events`)
    })

  audit
    .command('verify')
    .description('Walk the hash chain on the server (and check it against signed checkpoints you kept); exit 1 when broken')
    .option('--checkpoint <file...>', 'signed checkpoints kept outside the database (from gatehouse audit checkpoint --out)')
    .option('--offline <file>', 'verify an export (NDJSON from gatehouse audit export) against the checkpoints, with the public key alone: no server')
    .option('--public-key <vkey>', 'with --offline: the log\'s verifier key (verifierKey of GET /v1/audit/signing-key), or @FILE holding it')
    .addHelpText('after', '\nExamples:\n  npx gatehouse audit verify\n  npx gatehouse audit verify --checkpoint checkpoints/*.note\n  npx gatehouse audit verify --offline audit.ndjson --checkpoint checkpoints/*.note --public-key @gatehouse.vkey')
    .action(async (options: { checkpoint?: string[]; offline?: string; publicKey?: string }) => {
      if (options.offline !== undefined) {
        if (!options.publicKey) throw new CliError('--offline needs --public-key (the verifierKey of GET /v1/audit/signing-key, or @FILE)', EXIT.usage)
        const vkey = options.publicKey.startsWith('@') ? readFileSync(options.publicKey.slice(1), 'utf8').trim() : options.publicKey
        const kept = readCheckpoints(options.checkpoint ?? [])
        const notes = kept.map(noteOf).filter((note): note is string => note !== null)
        if (notes.length === 0) throw new CliError('--offline needs at least one signed checkpoint note (--checkpoint FILE): without one, a rewritten log would verify too', EXIT.usage)
        const report = await verifyExport(exportedEvents(options.offline), notes, vkey)
        context.print(report, () => {
          const head = `${report.ok ? 'OK' : 'BROKEN'}: ${report.events} events, tree size ${report.treeSize}, root ${report.rootHash}`
          const bad = report.firstBad ? `\n  first bad event: #${report.firstBad.seq}: ${report.firstBad.reason}` : ''
          const checked = report.checkpoints.map((c) => `\n  checkpoint at size ${c.treeSize}: ${c.ok ? 'ok' : `FAILED${c.reason ? ` (${c.reason})` : ''}`}`).join('')
          return `${head}${bad}${checked}`
        })
        if (!report.ok) process.exitCode = EXIT.error
        return
      }
      const client = context.client()
      const report = options.checkpoint?.length ? await client.audit.verifyAgainstCheckpoints(readCheckpoints(options.checkpoint)) : await client.audit.verify()
      context.print(report, () => {
        const head = `${report.ok ? 'OK' : 'BROKEN'}: space '${report.space}', ${report.checkedEvents} events checked, head #${report.head.seq} ${report.head.hash.slice(0, 16)}…`
        const broken = report.firstBroken ? `\n  first broken link: #${report.firstBroken.seq}: ${report.firstBroken.reason}` : ''
        const checkpoints = report.checkpoints.map((c) => `\n  checkpoint #${c.seq}: ${c.ok ? 'ok' : `FAILED${c.reason ? ` (${c.reason})` : ''}`}`).join('')
        const notes = report.notes.map((c) => `\n  checkpoint at size ${c.treeSize}: ${c.ok ? 'ok' : `FAILED${c.reason ? ` (${c.reason})` : ''}`}`).join('')
        const pending = report.pending ? `\n  ${report.pending} events pending integration (not checked yet, not a failure)` : ''
        return `${head}${broken}${checkpoints}${notes}${pending}`
      })
      if (!report.ok) process.exitCode = EXIT.error
    })

  audit
    .command('checkpoint')
    .description('Have the server sign the current head of the log; keep the file somewhere else')
    .option('--out <file>', 'write the signed checkpoint here: its C2SP note text (a .json name writes the JSON answer)')
    .addHelpText('after', '\nExample:\n  npx gatehouse audit checkpoint --out checkpoints/$(date +%F).note')
    .action(async (options: { out?: string }) => {
      const checkpoint = await context.client().audit.createCheckpoint()
      if (options.out) writeFileSync(options.out, options.out.endsWith('.json') ? `${JSON.stringify(checkpoint, null, 2)}\n` : checkpoint.note)
      // The note is the checkpoint itself (what a verifier reads): printed as is, below its fields.
      const { note, ...rest } = checkpoint
      context.print(checkpoint, () => `${fields(rest as unknown as Record<string, unknown>)}\n${note}${options.out ? `saved to ${options.out}\n` : ''}`)
    })

  audit
    .command('key')
    .description("The log's public key: its verifierKey is all an offline verify needs")
    .option('--out <file>', 'write the verifierKey (one line) here')
    .addHelpText('after', '\nExample:\n  npx gatehouse audit key --out gatehouse.vkey')
    .action(async (options: { out?: string }) => {
      const key = await context.client().audit.signingKey()
      if (options.out) writeFileSync(options.out, `${key.verifierKey}\n`)
      context.print(key, () => fields(key as unknown as Record<string, unknown>) + (options.out ? `saved to ${options.out}\n` : ''))
    })

  audit
    .command('checkpoints')
    .description('The signed checkpoints the server kept')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 50)
    .action(async (options: { limit: number }) => {
      const answer = await context.client().audit.listCheckpoints({ limit: options.limit })
      context.print(answer, () => table(answer.checkpoints as unknown as Array<Record<string, unknown>>, ['treeSize', 'time', 'rootHash', 'keyId']))
    })
}
