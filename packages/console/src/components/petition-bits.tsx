import type { PetitionView } from '@gatehouse/sdk/client'
import { formatDuration } from '../logic/duration'

const STATE_CLASS: Record<string, string> = { open: 'warn', granted: 'ok', denied: 'danger', cancelled: '' }

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge ${STATE_CLASS[state] ?? ''}`}>{state}</span>
}

export const resourceLabel = (resource: { kind: string; id: string }) => `${resource.kind}:${resource.id}`

/** Reviewers' decisions with their comments, newest last. */
export function Reviews({ petition }: { petition: PetitionView }) {
  if (petition.reviews.length === 0 && !petition.decisionComment) return null
  return (
    <ul className="reviews">
      {petition.reviews.map((review) => (
        <li key={`${review.reviewerId}-${review.createdAt}`}>
          <strong>{review.reviewerEmail}</strong> {review.decision === 'approve' ? 'approved' : 'denied'}
          {review.durationSeconds ? ` for ${formatDuration(review.durationSeconds)}` : ''}
          {review.comment ? `: “${review.comment}”` : ''}
        </li>
      ))}
      {petition.decisionComment && petition.reviews.length === 0 ? <li>{petition.decisionComment}</li> : null}
    </ul>
  )
}
