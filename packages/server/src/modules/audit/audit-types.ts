export type ActorKind = 'user' | 'service_account' | 'vault_client' | 'system' | 'anonymous'

/** Who did it, as it was at the time: a later rename or deletion does not rewrite history. */
export interface AuditActor {
  kind: ActorKind
  id: string
  /** Email of a user, name of a service account. */
  display?: string
  /** The token that authenticated the request, when there was one. */
  tokenId?: string
}

export interface AuditResourceRef {
  kind: string
  id: string
}

export interface AuditEventInput {
  event: string
  actor: AuditActor
  resources?: AuditResourceRef[]
  meta?: Record<string, unknown>
}

/** The fields the hash covers, in the form it is computed over. */
export interface AuditEventBody {
  id: string
  space: string
  seq: number
  time: string
  actor: AuditActor
  event: string
  resources: AuditResourceRef[]
  meta: Record<string, unknown>
  prevHash: string
}

export interface AuditEvent extends AuditEventBody {
  hash: string
}

export interface AuditHead {
  seq: number
  hash: string
}

export interface CheckpointBody {
  space: string
  seq: number
  hash: string
  time: string
  keyId: string
}

export interface SignedCheckpoint extends CheckpointBody {
  /** Ed25519 over the canonical JSON of the other fields, base64url. */
  signature: string
}

export interface AuditFilter {
  from?: string
  to?: string
  actor?: string
  event?: string
  resourceKind?: string
  resourceId?: string
}

export interface ChainBreak {
  seq: number
  reason: string
}

export interface CheckpointResult {
  seq: number
  ok: boolean
  reason?: string
}

export interface VerifyReport {
  ok: boolean
  space: string
  checkedEvents: number
  head: AuditHead
  firstBroken: ChainBreak | null
  checkpoints: CheckpointResult[]
}

/** A checkpoint key the database keeps: the current one has no `retiredAt`. */
export interface AuditSigningKey {
  keyId: string
  publicKeyPem: string
  retiredAt: Date | null
}
