export { HASH_SIZE, emptyRoot, leafHash, nodeHash, rootHash, inclusionProof, consistencyProof, verifyInclusion, verifyConsistency, type ProofCheck } from './merkle.js'
