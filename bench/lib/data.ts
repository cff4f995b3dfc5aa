import type { ResourceInput } from '../../packages/sdk/src/types.js'

const PLANS = ['free', 'pro', 'enterprise'] as const
const REGIONS = ['eu-west', 'us-east', 'us-west', 'ap-south'] as const

export const customerId = (index: number): string => `c_${String(index).padStart(7, '0')}`

/** `count` customers shaped like the reference example's (a name and two labels each). */
export function customers(count: number): ResourceInput[] {
  return Array.from({ length: count }, (_, index) => ({
    kind: 'customer',
    id: customerId(index),
    displayName: `Customer ${index}`,
    labels: { plan: PLANS[index % PLANS.length]!, region: REGIONS[index % REGIONS.length]! },
  }))
}

/** Runs `count` jobs on `concurrency` workers, each taking the next job number when free. */
export async function runConcurrently(count: number, concurrency: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < count) await job(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}

export const MiB = 1024 * 1024

export const round = (value: number, digits = 0): number => {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/** 12,345 — thousands separated, the way the table shows them. */
export const formatNumber = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
