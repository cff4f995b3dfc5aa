import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { CliError, EXIT } from '../errors.js'

/**
 * Where an interrupted upload stopped: every record up to `records` (ending on `line`) is stored.
 * Later batches may have been stored too; sending them again changes nothing (uploads are idempotent).
 */
export interface UploadState {
  version: 1
  file: string
  size: number
  mtimeMs: number
  space: string
  records: number
  line: number
  updatedAt: string
}

export const defaultStatePath = (file: string) => `${file}.gatehouse-upload.json`

export function readState(path: string, file: string, space: string): UploadState | null {
  if (!existsSync(path)) return null
  let state: UploadState
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as UploadState
  } catch (error) {
    throw new CliError(`the state file ${path} is not valid JSON (${(error as Error).message}); delete it to start over`)
  }
  if (state.version !== 1 || typeof state.records !== 'number') throw new CliError(`${path} is not an upload state file; delete it to start over`)
  const stat = statSync(file)
  // Resuming by record number is only right for the very same file.
  if (state.file !== resolve(file) || state.size !== stat.size || state.mtimeMs !== stat.mtimeMs) {
    throw new CliError(`${file} changed since the interrupted upload recorded in ${path}; upload it again without --resume (it is safe: uploads are idempotent)`, EXIT.usage)
  }
  if (state.space !== space) throw new CliError(`${path} records an upload to space '${state.space}', not '${space}'; upload again without --resume`, EXIT.usage)
  return state
}

export function stateWriter(path: string, file: string, space: string) {
  const stat = statSync(file)
  const base = { version: 1 as const, file: resolve(file), size: stat.size, mtimeMs: stat.mtimeMs, space }
  return {
    /** Written whole and renamed into place: a kill never leaves half a state file. */
    save(records: number, line: number) {
      const state: UploadState = { ...base, records, line, updatedAt: new Date().toISOString() }
      writeFileSync(`${path}.tmp`, `${JSON.stringify(state)}\n`)
      renameSync(`${path}.tmp`, path)
    },
    remove() {
      rmSync(path, { force: true })
    },
  }
}
