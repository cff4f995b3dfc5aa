import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

/** A path whose group or other permission bits were removed, with the mode it had. */
export interface Tightened {
  path: string
  was: string
}

const GROUP_AND_OTHER = 0o077

const missing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT'

/**
 * Takes every group and other permission bit off `path` and, if it is a directory, off everything
 * under it: directories end `0700`, files `0600` (the owner's bits are kept). Symbolic links are
 * neither followed nor changed, so nothing outside the tree is touched. A path that disappears
 * meanwhile (the store removes temporary files while it runs) is skipped; a path owned by someone
 * else fails with EPERM, which stops the start: the store is not ours to trust.
 */
export function tightenTree(path: string): Tightened[] {
  const tightened: Tightened[] = []
  const visit = (current: string) => {
    let stat
    try {
      stat = lstatSync(current)
    } catch (error) {
      if (missing(error)) return
      throw error
    }
    if (stat.isSymbolicLink()) return
    const mode = stat.mode & 0o777
    if (mode & GROUP_AND_OTHER) {
      const next = stat.isDirectory() ? (mode & 0o700) | 0o700 : mode & 0o700
      try {
        chmodSync(current, next)
      } catch (error) {
        if (missing(error)) return
        throw new Error(`cannot make ${current} private (mode ${mode.toString(8)}): ${(error as Error).message}`)
      }
      tightened.push({ path: current, was: mode.toString(8).padStart(4, '0') })
    }
    if (!stat.isDirectory()) return
    let entries: string[]
    try {
      entries = readdirSync(current)
    } catch (error) {
      if (missing(error)) return
      throw error
    }
    for (const entry of entries) visit(join(current, entry))
  }
  visit(path)
  return tightened
}

/** Creates `dir` (0700) if it is missing, then tightens it and everything in it. */
export function ensurePrivateDir(dir: string): Tightened[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  return tightenTree(dir)
}
