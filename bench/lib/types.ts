import type { Db, StoreKind } from '../../packages/server/src/db/db.js'
import type { Stack, StackOptions } from './stack.js'

export type { Db, StoreKind }

/** How much work each scenario does. `--quick` and the smoke test only change these numbers. */
export interface Sizes {
  /** 1. Seconds of measured load per arm (split into two rounds, see access-check.ts). */
  accessSeconds: number
  /** 1. Seconds of unmeasured load per arm before measuring (JIT, connection pools, caches). */
  accessWarmupSeconds: number
  /** 1. Concurrent HTTP connections of the load generator. */
  accessConnections: number
  /** 1. Other people's active grants in the table, so the lookup runs against an index with rows in it. */
  accessFillerGrants: number
  /** 2. Rows in the vault model searched (`--rows`). */
  findRows: number
  /** 2. Seconds of measured finds per query and arm, on one connection. */
  findSeconds: number
  /** 2. Seconds of unmeasured finds per query and arm before measuring. */
  findWarmupSeconds: number
  /** 3. Resources uploaded (and copied). */
  resources: number
  /**
   * 3. `--bulk-rows`: resources then uploaded, twice, to a server in a process of its own whose RSS
   * is sampled (PostgreSQL only; 0 skips it).
   */
  bulkRssRows: number
  /** 4. Events appended per arm. */
  auditAppends: number
  /** 4. Concurrent writers. */
  auditWriters: number
  /** 4. Events queued, then integrated by one sequencer run (its throughput). */
  auditSequencerEvents: number
  /** 4. Leaves of the synthetic tree that inclusion and consistency proofs are generated from. */
  auditProofLeaves: number
  /** 5. Audit events in the space before exporting them. */
  exportEvents: number
  /** 5. Rows in the vault model whose find is paged. */
  pagedRows: number
  /** 5. Pages (of 100) fetched across that find, from the first to the last. */
  pagedPages: number
  /** 6. Revocations on one node probed on another (the issue asks for 100). */
  scaleOutRevocations: number
  /** 6. Long-polls on one node woken by a decision on another. */
  scaleOutWakeUps: number
  /** 7. Records imported into each of the plain and the encrypted model (the issue: 100,000), then found. */
  encryptionRecords: number
}

export interface Figure {
  value: number
  unit: string
}

/** Always "Gatehouse's cost ÷ the floor's cost": 1.0 is as good as hand-written, 2.0 twice as slow (or big). */
export interface Ratio {
  name: string
  value: number
  /** How it was computed, e.g. "baseline req/s ÷ Gatehouse req/s". */
  formula: string
  /** A difference rather than a ratio (e.g. 'ms'); a ratio is printed with ×. */
  unit?: string
}

export interface Goal {
  text: string
  /** null when the goal does not apply to this store. */
  met: boolean | null
}

export interface ScenarioResult {
  /** One short cell for the table, per arm. */
  summary: { gatehouse: string; baseline: string }
  figures: { gatehouse: Record<string, Figure>; baseline: Record<string, Figure> }
  /** The first is the headline ratio shown in the table. */
  ratios: [Ratio, ...Ratio[]]
  goal: Goal | null
  /** The sizes this scenario used. */
  sizes: Record<string, number>
  /** What the numbers mean and any substitution made (said in the output, not hidden). */
  notes: string[]
  /** Why the ratio is what it is: query plans, wait-event samples — kept in the JSON. */
  evidence?: Record<string, unknown>
}

export interface Progress {
  tick(count?: number): void
  stop(): void
}

export interface ScenarioContext {
  store: StoreKind
  sizes: Sizes
  quick: boolean
  /**
   * A fresh database (new PostgreSQL database or new PGlite) with the real app on it, listening
   * on 127.0.0.1:0. The runner closes it and drops the database when the scenario ends.
   */
  stack(options?: StackOptions): Promise<Stack>
  /** A progress bar on stderr while data loads (nothing when stderr is not a terminal). */
  progress(label: string, total: number): Progress
  /** Runs `work` under the CPU profiler when the run asked for profiles (--cpu-prof); else just runs it. */
  profile<T>(label: string, work: () => Promise<T>): Promise<T>
  log(line: string): void
}

/** One benchmark scenario: one file in bench/scenarios/, registered in bench/scenarios/index.ts. */
export interface Scenario {
  /** Used by --scenario. */
  name: string
  /** The scenario's number in the issue. */
  number: number
  title: string
  run(context: ScenarioContext): Promise<ScenarioResult>
}
