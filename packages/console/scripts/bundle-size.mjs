#!/usr/bin/env node
// Prints the JavaScript the console's first load fetches (gzipped) and fails the build above the
// budget: index.html's module script and everything it preloads or imports statically.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

const BUDGET = 250 * 1024
const dist = new URL('../dist/', import.meta.url).pathname
const html = readFileSync(join(dist, 'index.html'), 'utf8')
const entries = [...html.matchAll(/<(?:script[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="\/console\/(assets\/[^"]+\.js)"/g)].map((m) => m[1])
if (entries.length === 0) {
  console.error('bundle-size: index.html names no script: the build is broken')
  process.exit(1)
}
// Follow static imports ("./x.js" from within assets) so the first load is counted whole.
const seen = new Set()
const queue = [...entries]
while (queue.length) {
  const file = queue.shift()
  if (seen.has(file)) continue
  seen.add(file)
  const source = readFileSync(join(dist, file), 'utf8')
  for (const m of source.matchAll(/(?:^|[;\n}])\s*import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+\.js)["']/g)) queue.push(`assets/${m[1]}`)
}
let total = 0
const rows = []
for (const file of seen) {
  const gz = gzipSync(readFileSync(join(dist, file))).length
  total += gz
  rows.push(`  ${file}  ${(gz / 1024).toFixed(1)} kB gz`)
}
const all = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js')).length
console.log(`console first load: ${(total / 1024).toFixed(1)} kB of JavaScript gzipped (budget ${BUDGET / 1024} kB; ${seen.size} of ${all} chunks)`)
console.log(rows.join('\n'))
if (total > BUDGET) {
  console.error(`bundle-size: the first load is ${(total / 1024).toFixed(1)} kB gzipped, over the ${BUDGET / 1024} kB budget`)
  process.exit(1)
}
