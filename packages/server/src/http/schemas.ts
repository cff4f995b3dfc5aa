import { Type, type TSchema } from '@sinclair/typebox'
import { ERROR_STATUS } from './errors.js'

/** Shared, bounded building blocks for route schemas. */
export const SpaceId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'The space slug, e.g. `default`' })
export const EntityId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })
export const Email = Type.String({ format: 'email', maxLength: 254 })
export const Name = Type.String({ minLength: 1, maxLength: 200 })
export const Description = Type.String({ maxLength: 2000 })
export const Role = Type.Union([Type.Literal('admin'), Type.Literal('reviewer'), Type.Literal('member')])
export const Timestamp = Type.String({ format: 'date-time' })
export const Cursor = Type.String({ maxLength: 200 })

export const SpaceParams = Type.Object({ space: SpaceId })
export const spaceAnd = <K extends string>(key: K) => Type.Object({ space: SpaceId, [key]: EntityId } as { space: typeof SpaceId } & Record<K, typeof EntityId>)

export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(Object.keys(ERROR_STATUS).map((code) => Type.Literal(code))),
      message: Type.String(),
      requestId: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { $id: 'ErrorEnvelope', description: 'Every error has this shape.' },
)

const errorRef = Type.Ref('ErrorEnvelope')

/** The error responses every authenticated route can give, spread into its `response` schema. */
export const authedErrors = {
  400: errorRef,
  401: errorRef,
  403: errorRef,
  404: errorRef,
  429: errorRef,
  500: errorRef,
}
export const withConflict = { ...authedErrors, 409: errorRef }

export const Page = <T extends TSchema>(key: string, item: T) =>
  Type.Object({ [key]: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) })
