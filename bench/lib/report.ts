import { execFileSync } from 'node:child_process'
import { cpus, release, totalmem } from 'node:os'
import type { StoreKind } from '../../packages/server/src/db/db.js'
import { MiB } from './data.js'
import type { ScenarioResult, Sizes } from './types.js'

export interface ScenarioRecord {
  scenario: string
  number: number
  title: string
  store: StoreKind
  ok: boolean
  seconds: number
  /** The store's `SHOW server_version`, when a stack was opened. */
  storeVersion: string | null
  result: ScenarioResult | null
  error: string | null
}

export interface Machine {
  platform: string
  arch: string
  kernel: string
  cpus: number
  cpuModel: string
  memoryMiB: number
  node: string
}

export interface Revision {
  commit: string | null
  /** Uncommitted changes in the working tree when the run started. */
  dirty: boolean | null
}

export interface BenchReport {
  command: string
  revision: Revision
  startedAt: string
  finishedAt: string
  seconds: number
  quick: boolean
  stores: StoreKind[]
  machine: Machine
  sizes: Sizes
  results: ScenarioRecord[]
}

export function machine(): Machine {
  const list = cpus()
  return {
    platform: process.platform,
    arch: process.arch,
    kernel: release(),
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryMiB: Math.round(totalmem() / MiB),
    node: process.version,
  }
}

/** The commit measured, when the bench runs from a git checkout. */
export function revision(): Revision {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  try {
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain').length > 0 }
  } catch {
    return { commit: null, dirty: null }
  }
}

const ratioText = (value: number, unit?: string) => (unit ? `${value.toFixed(2)} ${unit}` : `${value < 10 ? value.toFixed(2) : value.toFixed(1)}×`)
const metText = (met: boolean | null | undefined) => (met === true ? 'yes' : met === false ? '**no**' : '—')
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')

/** A Markdown table: readable in a terminal, and pasted as is into docs/performance.md. */
export function renderTable(records: ScenarioRecord[]): string {
  const header = ['#', 'Scenario', 'Store', 'Gatehouse', 'Floor (hand-written)', 'Ratio', 'Goal', 'Met']
  const rows = records.map((record) => {
    const result = record.result
    if (!record.ok || !result) return [String(record.number), record.title, record.store, `failed: ${record.error ?? 'unknown error'}`, '', '', '', '**no**']
    const [headline] = result.ratios
    return [
      String(record.number),
      record.title,
      record.store,
      result.summary.gatehouse,
      result.summary.baseline,
      `${ratioText(headline.value)} ${headline.name}`,
      result.goal?.text ?? '—',
      metText(result.goal?.met),
    ]
  })
  const lines = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.map(cell).join(' | ')} |`)
  return lines.join('\n')
}

/** The largest headline ratio: the scenario furthest from its floor. */
export function largestRatio(records: ScenarioRecord[]): ScenarioRecord | null {
  let worst: ScenarioRecord | null = null
  for (const record of records) {
    if (!record.result) continue
    if (!worst?.result || record.result.ratios[0].value > worst.result.ratios[0].value) worst = record
  }
  return worst
}

export function renderDetails(records: ScenarioRecord[]): string {
  const lines: string[] = []
  const seen = new Set<string>()
  for (const record of records) {
    if (!record.result) continue
    lines.push(`${record.number}. ${record.title} (${record.store}): ${record.result.ratios.map((ratio) => `${ratio.name} ${ratioText(ratio.value, ratio.unit)} [${ratio.formula}]`).join('; ')}`)
    for (const note of record.result.notes) {
      if (seen.has(note)) continue
      seen.add(note)
      lines.push(`   - ${note}`)
    }
  }
  return lines.join('\n')
}
