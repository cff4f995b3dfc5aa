import { APIConnectionError, APIError, GatehouseError } from '@gatehouse/sdk'

/** Documented in docs/cli.md: scripts branch on these. */
export const EXIT = { ok: 0, error: 1, usage: 2, waiting: 3, denied: 4 } as const
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** An error the CLI explains itself: its message is printed as is, no stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
  ) {
    super(message)
  }
}

/** One or two lines for stderr: the server's code, message and request id; never a stack trace. */
export function describeError(error: unknown, url?: string): { text: string; exitCode: ExitCode } {
  if (error instanceof CliError) return { text: `gatehouse: ${error.message}`, exitCode: error.exitCode }
  if (error instanceof APIError) {
    const details = error.details && Object.keys(error.details).length > 0 ? `\n  details: ${JSON.stringify(error.details)}` : ''
    const hint =
      error.status === 401
        ? '\n  hint: the token is missing, expired or revoked: gatehouse login, or set GATEHOUSE_API_TOKEN'
        : error.code === 'space_not_found' || (error.status === 404 && /space/i.test(error.message))
          ? '\n  hint: check --space / GATEHOUSE_SPACE'
          : ''
    return { text: `gatehouse: error ${error.code} (HTTP ${error.status}): ${error.message}${error.requestId ? ` [request ${error.requestId}]` : ''}${details}${hint}`, exitCode: EXIT.error }
  }
  if (error instanceof APIConnectionError) {
    return { text: `gatehouse: cannot reach the server${url ? ` at ${url}` : ''}: ${error.message}\n  hint: is it running? (npx gatehouse serve, or npm start); check --url / GATEHOUSE_URL`, exitCode: EXIT.error }
  }
  if (error instanceof GatehouseError) return { text: `gatehouse: ${error.message}`, exitCode: EXIT.error }
  const code = (error as NodeJS.ErrnoException)?.code
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') return { text: `gatehouse: ${(error as Error).message}`, exitCode: EXIT.error }
  return { text: `gatehouse: unexpected error: ${(error as Error)?.message ?? String(error)}`, exitCode: EXIT.error }
}
