// `npm run build`, and `prepare` (which `npm install` runs for each workspace). The CLI compiles
// against the SDK's declarations, so the SDK is built first, always: `npm install` may run this
// prepare before the SDK's own, and an SDK dist left by an older checkout lacks what the CLI now calls.
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('..', import.meta.url))
const sdk = fileURLToPath(new URL('../../sdk', import.meta.url))
const tsc = (project, cwd) => execFileSync(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', project], { cwd, stdio: 'inherit' })
if (existsSync(`${sdk}/tsconfig.build.json`)) tsc('tsconfig.build.json', sdk)
// A clean build: a source file removed must not live on in dist (and in the packed tarball).
rmSync(`${here}/dist`, { recursive: true, force: true })
tsc('tsconfig.build.json', here)
// The bin: npm makes it executable when it links it, but a rebuild makes a new file.
chmodSync(`${here}/dist/main.js`, 0o755)
