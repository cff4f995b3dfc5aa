/** Where the client reads its defaults: the environment, as Indent's client reads INDENT_SPACE and INDENT_API_TOKEN. */
export interface ClientConfig {
  baseUrl: string
  space: string
  token: string
}

/** approval()'s default wait for a decision: GATEHOUSE_APPROVAL_WAIT_MS, else 10 s as Indent's. */
export function defaultApprovalWaitMs(): number {
  const raw = typeof process === 'undefined' ? undefined : process.env.GATEHOUSE_APPROVAL_WAIT_MS
  const value = raw === undefined || raw === '' ? Number.NaN : Number(raw)
  return Number.isInteger(value) && value >= 0 ? value : 10_000
}

export function configFromEnvironment(): Partial<ClientConfig> {
  const env = typeof process === 'undefined' ? {} : process.env
  return {
    ...(env.GATEHOUSE_URL ? { baseUrl: env.GATEHOUSE_URL } : {}),
    ...(env.GATEHOUSE_SPACE ? { space: env.GATEHOUSE_SPACE } : {}),
    ...(env.GATEHOUSE_API_TOKEN ? { token: env.GATEHOUSE_API_TOKEN } : {}),
  }
}
