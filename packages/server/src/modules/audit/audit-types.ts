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

/** The fields the old hash chain's hash covers (events written before the Merkle tree). */
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

/** What a leaf is made of (see `auditLeafBytes` in the SDK): the event without seq or chain hashes. */
export interface LeafContent {
  id: string
  space: string
  time: string
  actor: unknown
  event: string
  resources: unknown
  meta: unknown
}

/** An event in the log: sequenced, in the tree (or about to be, for migrated ones). */
export interface AuditEvent extends Omit<AuditEventBody, 'prevHash'> {
  /** Hex leaf hash; absent only for a migrated event the sequencer has not hashed yet. */
  leafHash?: string
  /** Only events of the old hash chain (before migration 0007). */
  prevHash?: string
  hash?: string
}

/** An event committed with its change and queued for the sequencer: no seq yet. */
export interface QueuedEvent extends LeafContent {
  actor: AuditActor
  resources: AuditResourceRef[]
  meta: Record<string, unknown>
  leafHash: string | null
}

/** How a reader sees a queued event. */
export interface PendingEvent {
  id: string
  space: string
  pending: true
  time: string
  actor: AuditActor
  event: string
  resources: AuditResourceRef[]
  meta: Record<string, unknown>
}

/** The head of a space's log. */
export interface LogHead {
  /** Events sequenced. */
  seq: number
  /** Leaves in the tree: = seq, except while migrated events are being hashed in. */
  treeSize: number
  /** Hex hashes of the tree's right edge, largest subtree first. */
  frontier: string[]
  /** The old chain: its last event and that event's hash. */
  chainEnd: number
  chainHash: string
  checkpointSize: number
  checkpointTime: Date | null
}

export interface StoredNode {
  level: number
  idx: number
  hash: string
}

/** A C2SP tlog-checkpoint of a space's tree, signed. */
export interface LogCheckpoint {
  treeSize: number
  /** Base64, as in the note. */
  rootHash: string
  /** The signed note's text. */
  note: string
  /** The signing key's id in the key table (16 hex digits; the note's own key id is C2SP's). */
  keyId: string
  time: string
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
  /** Queued events not yet in the log: not checked, and not a failure. */
  pending: number
  /** The log's size and its root (hex), as the walk rebuilt them. */
  head: AuditHead
  firstBroken: ChainBreak | null
  /** Old JSON checkpoints of the hash chain. */
  checkpoints: CheckpointResult[]
  /** C2SP checkpoints of the tree. */
  notes: Array<{ treeSize: number; ok: boolean; reason?: string }>
}

/** A checkpoint key the database keeps: the current one has no `retiredAt`. */
export interface AuditSigningKey {
  keyId: string
  publicKeyPem: string
  retiredAt: Date | null
}
