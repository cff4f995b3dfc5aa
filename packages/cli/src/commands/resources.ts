import { resolve } from 'node:path'
import type { Command } from 'commander'
import { fields, parseRef, positiveInt, table, type Context } from '../context.js'
import { CliError, EXIT } from '../errors.js'
import { parseMapping } from '../upload/mapping.js'
import { detectFormat } from '../upload/rows.js'
import { defaultStatePath } from '../upload/state.js'
import { uploadFile } from '../upload/upload.js'

const collect = (value: string, previous: string[]) => [...previous, value]

/** `plan=pro` → ['plan', 'pro']. */
function labelFilter(values: string[]): Record<string, string> {
  return Object.fromEntries(
    values.map((value) => {
      const at = value.indexOf('=')
      if (at <= 0) throw new CliError(`--label '${value}' is not NAME=VALUE`, EXIT.usage)
      return [value.slice(0, at), value.slice(at + 1)]
    }),
  )
}

export function registerResources(program: Command, context: Context): void {
  const resources = program.command('resources').description('The resources people ask access to (customers, accounts…)')

  resources
    .command('upload <file>')
    .description('Upload resources from CSV, JSON (an array) or NDJSON, streamed in batches; resumable')
    .option('--format <format>', 'csv, json or ndjson (default: from the file name)')
    .option('--kind <kind>', 'the kind for rows that have none, e.g. customer')
    .option('--map <field=column>', 'take a field from another column: kind, id, displayName, label.NAME (repeatable)', collect, [])
    .option('--batch-size <n>', 'resources per request (at most 1000)', positiveInt('--batch-size'), 1000)
    .option('--concurrency <n>', 'requests in flight', positiveInt('--concurrency'), 4)
    .option('--state <file>', 'where to record progress (default: FILE.gatehouse-upload.json)')
    .option('--resume', 'skip what an interrupted upload of this file already stored')
    .option('--no-progress', 'no progress output')
    .addHelpText(
      'after',
      `
Columns: kind,id,displayName,label.<name>… (CSV), or objects { kind, id, displayName, labels } (JSON/NDJSON).

Examples:
  npx gatehouse resources upload customers.csv
  npx gatehouse resources upload export.ndjson --kind customer --map id=customer_id --map displayName=name --map label.plan=plan
  npx gatehouse resources upload customers.csv --resume     # after an interruption`,
    )
    .action(async (file: string, options: { format?: string; kind?: string; map: string[]; batchSize: number; concurrency: number; state?: string; resume?: boolean; progress: boolean }) => {
      if (options.batchSize > 1000) throw new CliError('--batch-size is at most 1000 (the server\'s limit per request)', EXIT.usage)
      const format = detectFormat(file, options.format)
      const mapping = parseMapping(options.map, options.kind)
      const started = Date.now()
      const result = await uploadFile({
        client: context.client(),
        space: context.settings().space,
        file,
        format,
        mapping,
        batchSize: options.batchSize,
        concurrency: options.concurrency,
        statePath: resolve(options.state ?? defaultStatePath(file)),
        resume: Boolean(options.resume),
        progress: options.progress,
        note: context.note,
      })
      const seconds = (Date.now() - started) / 1000
      context.print(result, () =>
        `Uploaded ${result.uploaded} resources from ${file} in ${seconds.toFixed(1)} s (${result.changed} new or changed${result.skipped ? `, ${result.skipped} skipped as already stored` : ''})`,
      )
    })

  resources
    .command('list')
    .description('List resources, newest first, one page at a time')
    .option('--kind <kind>', 'only this kind')
    .option('--label <name=value>', 'only with this label (repeatable)', collect, [])
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 50)
    .option('--cursor <cursor>', 'the next page, from a previous answer')
    .addHelpText('after', '\nExamples:\n  npx gatehouse resources list --kind customer --label plan=pro\n  npx gatehouse resources list --json | jq .resources')
    .action(async (options: { kind?: string; label: string[]; limit: number; cursor?: string }) => {
      const page = await context.client().resource.list({
        ...(options.kind ? { kind: options.kind } : {}),
        labels: labelFilter(options.label),
        limit: options.limit,
        ...(options.cursor ? { cursor: options.cursor } : {}),
      })
      context.print(page, () =>
        table(page.resources.map((r) => ({ ...r, labels: Object.entries(r.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') })), ['kind', 'id', 'displayName', 'labels']) +
        (page.nextCursor ? `more: --cursor ${page.nextCursor}\n` : ''),
      )
    })

  resources
    .command('get <ref>')
    .description('One resource, by KIND:ID')
    .addHelpText('after', '\nExample:\n  npx gatehouse resources get customer:c_42')
    .action(async (ref: string) => {
      const resource = await context.client().resource.get(parseRef(ref))
      context.print(resource, () => fields(resource as unknown as Record<string, unknown>))
    })

  resources
    .command('delete <ref>')
    .description('Delete a resource, by KIND:ID')
    .addHelpText('after', '\nExample:\n  npx gatehouse resources delete customer:c_42')
    .action(async (ref: string) => {
      const parsed = parseRef(ref)
      await context.client().resource.delete(parsed)
      context.print({ deleted: parsed }, () => `Deleted ${parsed.kind}:${parsed.id}`)
    })
}
