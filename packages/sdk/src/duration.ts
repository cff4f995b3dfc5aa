const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/** `3600`, `'90m'`, `'2h'`, `'1d'`, `'1h30m'` → seconds. */
export function parseDuration(duration: number | string): number {
  if (typeof duration === 'number') {
    if (!Number.isInteger(duration) || duration <= 0) throw new RangeError(`duration must be a positive whole number of seconds, got ${duration}`)
    return duration
  }
  const parts = [...duration.trim().matchAll(/(\d+)\s*([smhdw])/g)]
  const consumed = parts.map((part) => part[0]).join('')
  if (parts.length === 0 || consumed.replace(/\s/g, '') !== duration.replace(/\s/g, '')) {
    throw new RangeError(`duration '${duration}' is not like '90m', '2h' or '1d'`)
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * UNITS[unit!]!, 0)
}
