/**
 * `@gatehouse/sdk/client`: the API client without anything that needs Node (no `node:` imports),
 * for a browser bundle. Webhook verification and the audit-proof (tlog) checks use node:crypto and
 * are only in the main entry, which re-exports all of this.
 */
export { GatehouseAPI, type GatehouseAPIOptions, type BulkUpdateOptions, type Page, type ResourcePage, type PetitionPage, type GrantPage } from './client.js'
export { approval, getErrorKind, ApprovalError, type ApprovalOptions, type ApprovalResult, type ErrorKind } from './approvals.js'
export { VaultDataClient, type VaultConnectOptions } from './vault-data.js'
export { exportAuditEvents, type ExportedAuditEvent, type AuditExportQuery } from './namespaces/audit.js'
export type { OperationId, PathOf, QueryOf, BodyOf, ResultOf } from './call.js'
export { sdkMethods, type SdkMethodPath } from './operations.js'
export type { Session, ConsoleVault, ConsoleFindResult } from './session.js'
export { parseDuration } from './duration.js'
export * from './errors.js'
export type * from './types.js'
export type { components, operations, paths } from './generated/api.js'
