import { readFileSync } from 'node:fs'

/** From package.json, read at run time: the same file in the repo and in the packed tarball. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
