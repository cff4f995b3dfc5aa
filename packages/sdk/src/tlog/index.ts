export { HASH_SIZE, emptyRoot, leafHash, nodeHash, rootHash, inclusionProof, consistencyProof, verifyInclusion, verifyConsistency, type ProofCheck } from './merkle.js'
export { TlogError, keyId, verifierKey, parseVerifierKey, signNote, parseNote, openNote, type VerifierKey, type NoteSignature } from './note.js'
export { formatCheckpoint, parseCheckpoint, signCheckpoint, verifyCheckpoint, checkInclusion, checkConsistency, type Checkpoint } from './checkpoint.js'
