import { useQuery } from '@tanstack/react-query'
import { ErrorMessage, Loading } from '../../components/feedback'
import { useSession } from '../../session'

/**
 * The event's RFC 6962 inclusion proof in the tree of the latest signed checkpoint: what anyone can
 * check offline with the log's public key (`gatehouse audit verify --offline`, or the SDK's
 * verifyInclusionProof). The browser shows it; the check itself is the SDK's, not re-written here.
 */
export function InclusionProof({ seq }: { seq: number }) {
  const { api } = useSession()
  const proof = useQuery({
    queryKey: ['audit-inclusion', seq],
    queryFn: async () => {
      const checkpoint = await api.audit.getCheckpoint()
      if (checkpoint.treeSize < seq) return { checkpoint, proof: null }
      return { checkpoint, proof: await api.audit.inclusionProof({ seq, treeSize: checkpoint.treeSize }) }
    },
  })
  if (proof.isLoading) return <Loading what="the inclusion proof" />
  if (proof.error) return <ErrorMessage error={proof.error} prefix="Inclusion proof" />
  if (!proof.data) return null
  const { checkpoint } = proof.data
  return (
    <section aria-labelledby="proof-title">
      <h3 id="proof-title">Inclusion proof</h3>
      {proof.data.proof ? (
        <>
          <p role="status">
            Leaf {proof.data.proof.leafIndex} of the tree of {checkpoint.treeSize} events signed at {new Date(checkpoint.time).toISOString()}:{' '}
            {proof.data.proof.hashes.length} hashes.
          </p>
          <ol className="hashes">
            {proof.data.proof.hashes.map((hash, index) => (
              <li key={index}>
                <code>{hash}</code>
              </li>
            ))}
          </ol>
        </>
      ) : (
        <p role="status">Not in a signed checkpoint yet (the latest signs {checkpoint.treeSize} events): it will be in the next one.</p>
      )}
      <details>
        <summary>Signed checkpoint (C2SP note)</summary>
        <pre className="meta">{checkpoint.note}</pre>
      </details>
    </section>
  )
}
