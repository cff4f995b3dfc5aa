// `npm install` runs each workspace's prepare; the CLI compiles against the SDK's declarations, so
// the SDK is built first when its dist is missing (a fresh clone), then the CLI.
import { execFileSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('..', import.meta.url))
const sdk = fileURLToPath(new URL('../../sdk', import.meta.url))
const tsc = (project, cwd) => execFileSync(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', project], { cwd, stdio: 'inherit' })
if (existsSync(`${sdk}/tsconfig.build.json`) && !existsSync(`${sdk}/dist/index.d.ts`)) tsc('tsconfig.build.json', sdk)
// A clean build: a source file removed must not live on in dist (and in the packed tarball).
rmSync(`${here}/dist`, { recursive: true, force: true })
tsc('tsconfig.build.json', here)
