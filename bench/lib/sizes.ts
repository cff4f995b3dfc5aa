import type { Sizes } from './types.js'

/** The sizes: about 4 minutes on PostgreSQL and 5 on PGlite on 2 cores. */
export const DEFAULT_SIZES: Sizes = {
  accessSeconds: 10,
  accessWarmupSeconds: 2,
  accessConnections: 16,
  accessFillerGrants: 10_000,
  findRows: 100_000,
  findSeconds: 1,
  findWarmupSeconds: 0.2,
  resources: 100_000,
  bulkRssRows: 0,
  auditAppends: 12_000,
  auditWriters: 16,
  auditSequencerEvents: 50_000,
  auditProofLeaves: 1_000_000,
  exportEvents: 1_000_000,
  pagedRows: 1_000_000,
  pagedPages: 10,
  scaleOutRevocations: 100,
  scaleOutWakeUps: 30,
}

/** `--quick`: the same scenarios on small sizes, about 50 s per store (most of it starting fresh stores, apps and child processes). */
export const QUICK_SIZES: Sizes = {
  accessSeconds: 2,
  accessWarmupSeconds: 0,
  accessConnections: 16,
  accessFillerGrants: 1_000,
  findRows: 10_000,
  findSeconds: 0.15,
  findWarmupSeconds: 0.05,
  resources: 2_000,
  bulkRssRows: 0,
  auditAppends: 1_000,
  auditWriters: 16,
  auditSequencerEvents: 5_000,
  auditProofLeaves: 50_000,
  exportEvents: 20_000,
  pagedRows: 20_000,
  pagedPages: 10,
  scaleOutRevocations: 100,
  scaleOutWakeUps: 10,
}

/** The smoke test's: every code path runs, no figure means anything. */
export const TINY_SIZES: Sizes = {
  accessSeconds: 1,
  accessWarmupSeconds: 0.5,
  accessConnections: 4,
  accessFillerGrants: 100,
  findRows: 1_000,
  findSeconds: 0.2,
  findWarmupSeconds: 0.1,
  resources: 300,
  bulkRssRows: 0,
  auditAppends: 100,
  auditWriters: 16,
  auditSequencerEvents: 300,
  auditProofLeaves: 1_000,
  exportEvents: 2_000,
  pagedRows: 2_000,
  pagedPages: 4,
  scaleOutRevocations: 10,
  scaleOutWakeUps: 3,
}
