export { HASH_SIZE, emptyRoot, leafHash, nodeHash, rootHash, inclusionProof, consistencyProof, verifyInclusion, verifyConsistency, type ProofCheck } from './merkle.js'
export { TlogError, keyId, verifierKey, parseVerifierKey, signNote, parseNote, openNote, type VerifierKey, type NoteSignature } from './note.js'
export { formatCheckpoint, parseCheckpoint, signCheckpoint, verifyCheckpoint, checkInclusion, checkConsistency, type Checkpoint } from './checkpoint.js'
export { rangeNodes, foldRange, inclusionRanges, consistencyRanges, frontierNodes, appendLeaves, type TreeNode, type LeafRange } from './ranges.js'
export {
  canonicalJson,
  auditLeafBytes,
  auditLeafHash,
  auditOrigin,
  verifyInclusionProof,
  verifyConsistencyProof,
  verifyExport,
  type AuditLogEvent,
  type InclusionProofWire,
  type ConsistencyProofWire,
  type ExportReport,
} from './audit.js'
