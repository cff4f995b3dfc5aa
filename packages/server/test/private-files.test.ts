import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ensurePrivateDir, tightenTree } from '../src/lib/private-files.js'

const made: string[] = []
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
})
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-private-'))
  made.push(dir)
  return dir
}
const mode = (path: string) => lstatSync(path).mode & 0o777

describe('tightenTree', () => {
  it('takes group and other bits off every directory and file, keeps the owner bits, and lists what it changed', () => {
    const root = temp()
    mkdirSync(join(root, 'a/b'), { recursive: true })
    writeFileSync(join(root, 'a/b/rows'), 'secret')
    writeFileSync(join(root, 'a/script'), '#!/bin/sh')
    writeFileSync(join(root, 'a/already'), 'x')
    chmodSync(join(root, 'a/already'), 0o600)
    for (const dir of [root, join(root, 'a'), join(root, 'a/b')]) chmodSync(dir, 0o777)
    chmodSync(join(root, 'a/b/rows'), 0o666)
    chmodSync(join(root, 'a/script'), 0o755)

    const changed = tightenTree(root)
    expect(changed.map((entry) => entry.path).sort()).toEqual([root, join(root, 'a'), join(root, 'a/b'), join(root, 'a/b/rows'), join(root, 'a/script')].sort())
    expect(changed.find((entry) => entry.path === join(root, 'a/b/rows'))?.was).toBe('0666')
    expect([mode(root), mode(join(root, 'a')), mode(join(root, 'a/b'))]).toEqual([0o700, 0o700, 0o700])
    expect(mode(join(root, 'a/b/rows'))).toBe(0o600)
    expect(mode(join(root, 'a/script'))).toBe(0o700)
    expect(tightenTree(root)).toEqual([])
  })

  it('never follows a symbolic link out of the tree', () => {
    const outside = join(temp(), 'elsewhere')
    writeFileSync(outside, 'not ours')
    chmodSync(outside, 0o644)
    const root = temp()
    chmodSync(root, 0o700)
    symlinkSync(outside, join(root, 'link'))
    expect(tightenTree(root)).toEqual([])
    expect(mode(outside)).toBe(0o644)
  })

  it('ensurePrivateDir creates a missing directory owner-only', () => {
    const dir = join(temp(), 'new/data')
    expect(ensurePrivateDir(dir)).toEqual([])
    expect(mode(dir)).toBe(0o700)
  })
})
