import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LogCheckpoint } from './audit-types.js'

/**
 * Publishes each checkpoint to a directory outside the database (GATEHOUSE_AUDIT_WITNESS_DIR), for
 * a witness — a backup job, another machine's sync, a notary — to keep: `<dir>/<space>/<size>`
 * holds each signed note and `<dir>/<space>/latest` the newest. Written after the checkpoint
 * commits; a note missed here (a crash between) is still in the database and in the webhook.
 */
export function createWitnessDir(dir: string) {
  return (spaceId: string, checkpoint: LogCheckpoint): void => {
    const folder = join(dir, encodeURIComponent(spaceId))
    mkdirSync(folder, { recursive: true, mode: 0o700 })
    writeFileSync(join(folder, String(checkpoint.treeSize)), checkpoint.note, { mode: 0o600 })
    // Renamed into place, so a reader of `latest` never sees half a note.
    const temporary = join(folder, `.latest-${process.pid}`)
    writeFileSync(temporary, checkpoint.note, { mode: 0o600 })
    renameSync(temporary, join(folder, 'latest'))
  }
}
