import type { operations } from './generated/api.js'
import { routes } from './generated/routes.js'
import type { Request, RequestOptions } from './transport.js'

/** Every call's argument and result types come from the server's schemas (generated/api.ts). */
export type OperationId = keyof operations
type Params<O extends OperationId> = operations[O]['parameters']

/** Path parameters other than `{space}`, which the client fills in itself. */
export type PathOf<O extends OperationId> = Params<O> extends { path: infer P } ? Omit<P, 'space'> : Record<string, never>
/** Query parameters; those with a server-side default (`limit`) are optional here too. */
export type QueryOf<O extends OperationId> = Params<O> extends { query?: infer Q } ? Partial<NonNullable<Q>> : never
export type BodyOf<O extends OperationId> = operations[O] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never

type Responses<O extends OperationId> = operations[O]['responses']
/** What a successful call resolves to: the 2xx JSON answer, or nothing for 204. */
export type ResultOf<O extends OperationId> = {
  [S in keyof Responses<O>]: S extends 200 | 201 | 202
    ? Responses<O>[S] extends { content: { 'application/json': infer J } }
      ? J
      : never
    : S extends 204
      ? void
      : never
}[keyof Responses<O>]

export interface CallInput<O extends OperationId> {
  path?: PathOf<O>
  query?: QueryOf<O>
  body?: BodyOf<O>
  timeout?: number
  headers?: Record<string, string>
}

/** `/v1/spaces/{space}/users/{userId}` with its parameters, each one URL-encoded. */
export function fillPath(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name]
    if (value === undefined || value === null || value === '') throw new TypeError(`missing path parameter '${name}' for ${template}`)
    return encodeURIComponent(String(value))
  })
}

export function requestOptions<O extends OperationId>(input: CallInput<O>): RequestOptions {
  return {
    ...(input.query ? { query: input.query as RequestOptions['query'] } : {}),
    ...(input.body !== undefined ? { body: input.body } : {}),
    ...(input.timeout !== undefined ? { timeout: input.timeout } : {}),
    ...(input.headers ? { headers: input.headers } : {}),
  }
}

/** One operation by its operationId, through a transport; `space` fills `{space}`. */
export function callOperation<O extends OperationId>(request: Request, space: string | undefined, id: O, input: CallInput<O> = {}): Promise<ResultOf<O>> {
  const route = routes[id]
  const path = fillPath(route.path, { ...(space !== undefined ? { space } : {}), ...(input.path as object) })
  return request<ResultOf<O>>(route.method, path, requestOptions(input))
}
