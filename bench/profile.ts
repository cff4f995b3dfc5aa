/**
 * `npx tsx bench/profile.ts <file.cpuprofile…> [--top N]`: where V8 CPU profiles' time went, by
 * package or source folder and by function (self time), summed over the files given. For the
 * evidence behind a ratio, e.g.
 *
 *   npm run bench -- --cpu-prof --scenario access-check --store postgres
 *   npx tsx bench/profile.ts bench/results/prof/postgres-access-check-gatehouse-*.cpuprofile
 *   npx tsx bench/profile.ts bench/results/prof/postgres-access-check-baseline-*.cpuprofile
 *
 * (`node --cpu-prof --import tsx bench/run.ts …` profiles a whole run the same way.)
 */
import { readFileSync } from 'node:fs'
import { Command } from 'commander'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

/** node_modules/<package>, packages/<name>/src/<folder>, node: internals, or what V8 calls it. */
function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (modules) return modules[1]!
  const own = /\/(packages\/[^/]+\/src\/(?:modules\/[^/]+|[^/]+))/.exec(url)
  if (own) return own[1]!.replace(/\.ts$/, '')
  if (url.startsWith('node:')) return url
  return url.replace(/^file:\/\//, '')
}

const program = new Command()
  .argument('<profiles...>', '.cpuprofile files (npm run bench -- --cpu-prof, or node --cpu-prof)')
  .option('--top <n>', 'rows per table', (value) => Number(value), 25)
  .parse()
const files = program.args
const { top } = program.opts<{ top: number }>()

const places = new Map<string, number>()
const functions = new Map<string, number>()
let total = 0
let span = 0
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)))
  span += profile.endTime - profile.startTime
  for (const [id, micros] of self) {
    total += micros
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    const place = placeOf(url, functionName)
    places.set(place, (places.get(place) ?? 0) + micros)
    const name = `${functionName || '(anonymous)'} ${place}${url ? `:${lineNumber + 1}` : ''}`
    functions.set(name, (functions.get(name) ?? 0) + micros)
  }
}

const table = (title: string, entries: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`)
  for (const [name, micros] of [...entries.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((micros / total) * 100).toFixed(1).padStart(6)}%  ${(micros / 1000).toFixed(0).padStart(8)} ms  ${name}\n`)
  }
}
process.stdout.write(`${files.length} profile(s): ${(total / 1e6).toFixed(1)} s sampled over ${(span / 1e6).toFixed(1)} s\n`)
table('Self time by package / source folder', places)
table('Self time by function', functions)
