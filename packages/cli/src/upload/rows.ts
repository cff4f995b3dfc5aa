import { createReadStream } from 'node:fs'
import { extname } from 'node:path'
import { createInterface } from 'node:readline'
import { parse } from 'csv-parse'
import { CliError, EXIT } from '../errors.js'

/** One input record: its line (1-based; where a CSV record ends, where a JSON element starts) and about how far into the file that is (for progress). */
export interface Row {
  line: number
  bytes: number
  record: Record<string, unknown>
}

export type Format = 'csv' | 'json' | 'ndjson'

export function detectFormat(file: string, given?: string): Format {
  const format = (given ?? extname(file).slice(1)).toLowerCase()
  if (format === 'csv') return 'csv'
  if (format === 'ndjson' || format === 'jsonl') return 'ndjson'
  if (format === 'json') return 'json'
  throw new CliError(`cannot tell the format of '${file}': name it .csv, .json or .ndjson, or pass --format csv|json|ndjson`, EXIT.usage)
}

/** A bad input row: the file and line are part of the message, so a person can go and fix it. */
export class RowError extends CliError {
  constructor(file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`)
  }
}

/**
 * The rows of a file, streamed: memory holds one chunk of the file and one record, however long the
 * file. Parsing stops on the first malformed record with its line number.
 */
export function readRows(file: string, format: Format, options: { chunkBytes?: number } = {}): AsyncGenerator<Row> {
  const stream = { highWaterMark: options.chunkBytes ?? 64 * 1024 }
  if (format === 'csv') return csvRows(file, stream)
  if (format === 'ndjson') return ndjsonRows(file, stream)
  return jsonArrayRows(file, stream)
}

type StreamOptions = { highWaterMark: number }

async function* csvRows(file: string, stream: StreamOptions): AsyncGenerator<Row> {
  const parser = createReadStream(file, stream).pipe(parse({ columns: true, info: true, bom: true, skip_empty_lines: true, trim: false }))
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number; bytes: number } }>) {
      yield { line: info.lines, bytes: info.bytes, record }
    }
  } catch (error) {
    const lines = (error as { lines?: number }).lines
    if (typeof lines === 'number') throw new RowError(file, lines, `not valid CSV: ${(error as Error).message.replace(/ on line \d+$/, '').replace(/ at line \d+/, '')}`)
    throw error
  }
}

async function* ndjsonRows(file: string, stream: StreamOptions): AsyncGenerator<Row> {
  const lines = createInterface({ input: createReadStream(file, stream), crlfDelay: Infinity })
  let line = 0
  let bytes = 0
  for await (const text of lines) {
    line += 1
    bytes += Buffer.byteLength(text) + 1
    if (text.trim() === '') continue
    yield { line, bytes, record: parseObject(file, line, text) }
  }
}

function parseObject(file: string, line: number, text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new RowError(file, line, `not valid JSON: ${(error as Error).message}`)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new RowError(file, line, 'expected a JSON object')
  return value as Record<string, unknown>
}

/**
 * A JSON array of objects, split into its elements without parsing the whole document: a small
 * scanner tracks strings, escapes and nesting depth, so memory holds one element at a time.
 */
async function* jsonArrayRows(file: string, stream: StreamOptions): AsyncGenerator<Row> {
  let line = 1
  let bytes = 0
  let depth = 0
  let inString = false
  let escaped = false
  let started = false
  let ended = false
  let element: string[] = []
  let elementLine = 1
  let pieceStart = -1
  for await (const chunk of createReadStream(file, { ...stream, encoding: 'utf8' }) as AsyncIterable<string>) {
    const ready: Row[] = []
    pieceStart = depth >= 2 ? 0 : -1
    for (let i = 0; i < chunk.length; i += 1) {
      const c = chunk.charCodeAt(i)
      if (c === 10) line += 1
      if (inString) {
        if (escaped) escaped = false
        else if (c === 92) escaped = true
        else if (c === 34) inString = false
        continue
      }
      if (c === 34) {
        inString = true
        if (depth === 1) throw new RowError(file, line, 'expected an object in the array, found a string')
        continue
      }
      if (c === 32 || c === 10 || c === 13 || c === 9 || (c === 0xfeff && !started)) continue
      if (!started) {
        if (c !== 91) throw new RowError(file, line, "a .json file must be an array of objects ('[{…}, …]'); use .ndjson for one object per line")
        started = true
        depth = 1
        continue
      }
      if (ended) throw new RowError(file, line, 'unexpected content after the closing ]')
      if (c === 123 || c === 91) {
        if (depth === 1) {
          if (c === 91) throw new RowError(file, line, 'expected an object in the array, found an array')
          pieceStart = i
          elementLine = line
          element = []
        }
        depth += 1
      } else if (c === 125 || c === 93) {
        depth -= 1
        if (depth === 1) {
          element.push(chunk.slice(pieceStart, i + 1))
          ready.push({ line: elementLine, bytes: bytes + i + 1, record: parseObject(file, elementLine, element.join('')) })
          element = []
          pieceStart = -1
        } else if (depth === 0) ended = true
      } else if (depth === 1 && c !== 44) {
        throw new RowError(file, line, `expected an object in the array, found '${String.fromCharCode(c)}'`)
      }
    }
    if (pieceStart >= 0 && depth >= 2) element.push(chunk.slice(pieceStart))
    bytes += chunk.length
    yield* ready
  }
  if (!started || !ended) throw new RowError(file, line, inString || depth > 0 ? 'the file ends inside a value' : 'the file is not a JSON array')
}
