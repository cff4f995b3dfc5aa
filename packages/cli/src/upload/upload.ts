import { existsSync, statSync } from 'node:fs'
import { BadRequestError, type GatehouseAPI, type ResourceInput } from '@gatehouse/sdk'
import { CliError } from '../errors.js'
import { createProgress } from '../progress.js'
import { toResource, type Mapping } from './mapping.js'
import { readRows, RowError, type Format, type Row } from './rows.js'
import { readState, stateWriter } from './state.js'

export interface UploadOptions {
  client: GatehouseAPI
  space: string
  file: string
  format: Format
  mapping: Mapping | null
  batchSize: number
  concurrency: number
  statePath: string
  resume: boolean
  progress: boolean
  note: (message: string) => void
}

export interface UploadResult {
  file: string
  records: number
  uploaded: number
  skipped: number
  changed: number
  lastLine: number
}

interface Batch {
  resources: ResourceInput[]
  lines: number[]
  /** Records through the end of this batch, counted from the top of the file. */
  through: number
  settled: Promise<{ changed: number } | { error: unknown }>
}

/** The server names a bad item by its place in the batch; a person needs the file's line. */
function withLine(error: unknown, file: string, batch: Batch): unknown {
  if (!(error instanceof BadRequestError)) return error
  const match = /(?:body\.resources\.|resources\[)(\d+)/.exec(error.message)
  const line = match ? batch.lines[Number(match[1])] : undefined
  if (line === undefined) return error
  const message = error.message.replace(/ \(resources before index \d+ were stored\)$/, '').replace(/(?:body\.resources\.|resources\[)\d+\]?\.?/g, '')
  return new RowError(
    file,
    line,
    `refused by the server (${error.code}): ${message}${error.requestId ? ` [request ${error.requestId}]` : ''}\n  its batch (lines ${batch.lines[0]}–${batch.lines[batch.lines.length - 1]}) was not stored; the rows before it were. Upload again once the file is fixed (rows already stored are unchanged by a repeat)`,
  )
}

/**
 * Streams the file in batches of `batchSize`, at most `concurrency` in flight, so memory stays flat
 * however many rows. After each batch at the head of the queue is stored, the state file records
 * how far the file is stored without a gap; `--resume` skips that far.
 */
export async function uploadFile(options: UploadOptions): Promise<UploadResult> {
  const { client, file, statePath } = options
  const size = statSync(file).size
  const previous = options.resume ? readState(statePath, file, options.space) : null
  const skip = previous?.records ?? 0
  if (options.resume && !previous) options.note(`no interrupted upload recorded in ${statePath}: starting at the top`)
  if (!options.resume && existsSync(statePath)) options.note(`${statePath} records an interrupted upload: starting at the top anyway (--resume continues it instead)`)
  if (previous) options.note(`resuming after line ${previous.line} (${previous.records} records already stored)`)
  const state = stateWriter(statePath, file, options.space)
  const progress = createProgress({ label: 'upload', total: size, noun: 'rows', enabled: options.progress })

  const queue: Batch[] = []
  let records = 0
  let uploaded = 0
  let changed = 0
  let lastLine = previous?.line ?? 0
  let pending: { resources: ResourceInput[]; lines: number[] } = { resources: [], lines: [] }
  let bytes = 0

  const settleHead = async () => {
    const head = queue.shift()!
    const outcome = await head.settled
    if ('error' in outcome) throw withLine(outcome.error, file, head)
    changed += outcome.changed
    uploaded += head.resources.length
    lastLine = head.lines[head.lines.length - 1]!
    state.save(head.through, lastLine)
    progress.update(bytes, skip + uploaded)
  }
  const send = async () => {
    const batch = pending
    pending = { resources: [], lines: [] }
    const settled = client.resource.bulkUpdate({ resources: batch.resources, batchSize: batch.resources.length, concurrency: 1 }).then(
      (result) => ({ changed: result.changed }),
      (error: unknown) => ({ error }),
    )
    queue.push({ ...batch, through: records, settled })
    // Bounded: the reader waits here (and the file stream pauses) while the queue is full.
    if (queue.length >= options.concurrency) await settleHead()
  }

  // A bad row stops the reading; the good rows before it are still stored (and recorded) first.
  let inputError: unknown = null
  try {
    const rows = readRows(file, options.format)[Symbol.asyncIterator]()
    for (;;) {
      let next: IteratorResult<Row>
      try {
        next = await rows.next()
      } catch (error) {
        inputError = error
        break
      }
      if (next.done) break
      const row = next.value
      records += 1
      bytes = row.bytes
      if (records <= skip) continue
      try {
        pending.resources.push(toResource(file, row, options.mapping))
      } catch (error) {
        inputError = error
        records -= 1
        break
      }
      pending.lines.push(row.line)
      if (pending.resources.length >= options.batchSize) await send()
    }
    if (pending.resources.length > 0) await send()
    while (queue.length > 0) await settleHead()
    if (inputError) throw inputError
  } catch (error) {
    // What is in flight finishes (or fails) before the state file is left for --resume.
    await Promise.allSettled(queue.map((batch) => batch.settled))
    progress.stop()
    if (error === inputError && error instanceof CliError) {
      throw new CliError(`${error.message}\n  the rows before it are stored; fix the file and upload it again (rows already stored are unchanged by a repeat)`, error.exitCode)
    }
    throw error
  }
  progress.stop()
  state.remove()
  if (records < skip) throw new CliError(`the state file says ${skip} records were stored but ${file} has only ${records}`)
  return { file, records, uploaded, skipped: skip, changed, lastLine }
}
