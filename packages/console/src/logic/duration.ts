import { parseDuration } from '@gatehouse/sdk/client'

/** The duration picker's presets. */
export const DURATION_PRESETS: ReadonlyArray<{ label: string; seconds: number }> = [
  { label: '15 minutes', seconds: 900 },
  { label: '1 hour', seconds: 3600 },
  { label: '4 hours', seconds: 4 * 3600 },
  { label: '8 hours', seconds: 8 * 3600 },
  { label: '1 day', seconds: 86400 },
  { label: '1 week', seconds: 7 * 86400 },
]

/** `3600` → "1h", `5400` → "1h 30m", `90061` → "1d 1h 1m 1s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0s'
  const parts: string[] = []
  let rest = Math.floor(seconds)
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const amount = Math.floor(rest / size)
    if (amount > 0) parts.push(`${amount}${unit}`)
    rest -= amount * size
  }
  return parts.join(' ')
}

export type DurationChoice = { ok: true; seconds: number; capped: boolean } | { ok: false; error: string }

/**
 * What the person typed or picked ("2h", "1h30m", "3600") → seconds, checked against the policy's
 * maximum when known: above it, the maximum is used and said so (the server caps the same way).
 */
export function chooseDuration(input: string, maxSeconds: number | null = null): DurationChoice {
  const text = input.trim()
  if (text === '') return { ok: false, error: 'enter a duration, like 1h or 30m' }
  let seconds: number
  try {
    seconds = /^\d+$/.test(text) ? parseDuration(Number(text)) : parseDuration(text)
  } catch {
    return { ok: false, error: `'${text}' is not a duration: use a number with s, m, h, d or w, like 90m, 2h or 1d` }
  }
  if (maxSeconds !== null && seconds > maxSeconds) return { ok: true, seconds: maxSeconds, capped: true }
  return { ok: true, seconds, capped: false }
}

/** "ends in 59m 58s" for a grant's countdown; "ended" once past. */
export function countdown(expiresAt: string, now: Date): string {
  const left = Math.floor((Date.parse(expiresAt) - now.getTime()) / 1000)
  return left > 0 ? `ends in ${formatDuration(left)}` : 'ended'
}
