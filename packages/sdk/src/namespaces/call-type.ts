import type { CallInput, OperationId, ResultOf } from '../call.js'

/** How a namespace reaches the server: one operation by its id, in the client's space unless `space` says another. */
export type Call = <O extends OperationId>(id: O, input?: CallInput<O>, space?: string) => Promise<ResultOf<O>>

