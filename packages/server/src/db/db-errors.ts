import { AppError } from '../http/errors.js'

/**
 * Database errors, mapped in one place. PGlite and `pg` both raise PostgreSQL's own error, with the
 * SQLSTATE in `code` (and `column`, `constraint` when the server names them), so one mapping serves
 * both stores. Services never test SQLSTATEs by hand: they give a friendlier message through
 * `constraintMessage`, and whatever they do not name is mapped by `dbErrorToAppError` in the error
 * handler.
 */
interface PgErrorFields {
  code: string
  message: string
  column?: string
}

/** Only the classes we map: a Node system error code (`EPIPE`) is never mistaken for a SQLSTATE. */
const MAPPED_SQLSTATE = /^((22|23|40)[0-9A-Z]{3}|42703|42P01)$/

function pgError(error: unknown): PgErrorFields | null {
  if (typeof error !== 'object' || error === null) return null
  const { code, message, column } = error as { code?: unknown; message?: unknown; column?: unknown }
  if (typeof code !== 'string' || !MAPPED_SQLSTATE.test(code) || typeof message !== 'string') return null
  return { code, message, ...(typeof column === 'string' ? { column } : {}) }
}

export const sqlState = (error: unknown): string | null => pgError(error)?.code ?? null

/** serialization_failure and deadlock_detected: the whole transaction may simply be run again. */
export const isRetryable = (error: unknown): boolean => {
  const code = sqlState(error)
  return code === '40001' || code === '40P01'
}

export interface ConstraintMessages {
  /** 23505: the value is taken ("a user with email x already exists"). */
  unique?: string
  /** 23503: a row is still referenced, or refers to one that does not exist. */
  foreignKey?: string
  /** 23502: a required value is missing. */
  notNull?: string
}

/**
 * A service's own words for a constraint violation, as a 409 `conflict`; any other error is
 * returned unchanged. Use as `catch (error) { throw constraintMessage(error, { unique: '…' }) }`.
 */
export function constraintMessage(error: unknown, messages: ConstraintMessages): unknown {
  const code = sqlState(error)
  const message = code === '23505' ? messages.unique : code === '23503' ? messages.foreignKey : code === '23502' ? messages.notNull : undefined
  return message === undefined ? error : new AppError('conflict', message)
}

const VALUE_PROBLEMS: Record<string, string> = {
  '22001': 'is too long',
  '22003': 'is out of range',
  '22007': 'is not a valid date or time',
  '22008': 'is not a valid date or time',
  '22P02': 'is not valid for its type',
  '22021': 'is not valid UTF-8',
  '22P05': 'holds a character the database cannot store',
  '22012': 'divides by zero',
}

/**
 * The safety net for whatever reaches the database without a friendlier check first:
 * 22xxx (a bad value) → 400 `validation_failed`, naming the column when the server names it;
 * 23505/23503/23P01 → 409 `conflict`; 23502/23514 → 400; 40001/40P01 (after the bounded retry in
 * `retryTransaction`) and 42703/42P01 (a model changed under a cached one) → 503 `unavailable`. Anything else is not ours to map: null.
 */
export function dbErrorToAppError(error: unknown): AppError | null {
  const pg = pgError(error)
  if (!pg) return null
  const { code, column } = pg
  const field = column ? `field '${column}'` : 'a value'
  // PostgreSQL's message is about the value sent ("invalid input syntax for type integer: \"x\""), never about other rows.
  if (code.startsWith('22')) {
    return new AppError('validation_failed', `${field} ${VALUE_PROBLEMS[code] ?? 'is not valid'}: ${pg.message}`, { sqlState: code, ...(column ? { field: column } : {}) })
  }
  switch (code) {
    case '23505':
      return new AppError('conflict', 'this already exists: a value that must be unique is taken')
    case '23503':
      return new AppError('conflict', 'this refers to something that does not exist, or something else still refers to it')
    case '23P01':
      return new AppError('conflict', 'this overlaps with something that already exists')
    case '23502':
      return new AppError('validation_failed', `${column ? `field '${column}'` : 'a required value'} is missing`, column ? { field: column } : undefined)
    case '23514':
      return new AppError('validation_failed', `${field} is outside what is allowed`)
    case '40001':
    case '40P01':
      return new AppError('unavailable', 'the database was busy with a conflicting change; retry the request')
    // A node's cached model can trail a model change made on another node by the change feed's
    // bound (a field conversion ending drops a column; a deleted model drops its table): the call
    // ran against a shape that no longer exists. Nothing was done; asking again reads the new shape.
    case '42703':
    case '42P01':
      return new AppError('unavailable', 'the model changed while this call ran (a column or table it named is gone); retry the request', { sqlState: code })
  }
  return null
}

/** How many times a transaction runs when it meets a serialization failure or a deadlock. */
export const TRANSACTION_ATTEMPTS = 3

/**
 * Runs a whole transaction again on 40001/40P01, at most `attempts` times in all, with a short
 * jittered pause. `work` starts from scratch each time: it must not keep state outside the transaction.
 */
export async function retryTransaction<T>(run: () => Promise<T>, attempts = TRANSACTION_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run()
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 10))
    }
  }
}
