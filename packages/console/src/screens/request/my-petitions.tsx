import type { PetitionView } from '@gatehouse/sdk/client'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { resourceLabel, Reviews, StateBadge } from '../../components/petition-bits'
import { formatDuration } from '../../logic/duration'
import { useMe, useSession } from '../../session'

export function MyPetitions() {
  const { api } = useSession()
  const me = useMe()
  const queryClient = useQueryClient()
  // Polled: a reviewer's decision shows up here without a reload.
  const petitions = useQuery({ queryKey: ['my-petitions', me.email], queryFn: () => api.petition.list({ petitioner: me.email, limit: 50 }), refetchInterval: 5000 })
  const cancel = useMutation({
    mutationFn: (id: string) => api.petition.cancel(id),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['my-petitions'] }),
  })
  return (
    <section className="section" aria-labelledby="my-petitions-title">
      <h2 id="my-petitions-title">My requests</h2>
      <ErrorMessage error={petitions.error} />
      <ErrorMessage error={cancel.error} prefix="Cancel failed" />
      {petitions.isLoading ? <Loading what="your requests" /> : null}
      {petitions.data && petitions.data.petitions.length === 0 ? <EmptyState title="No requests yet">Find a resource above and ask for access.</EmptyState> : null}
      <ul className="list">
        {petitions.data?.petitions.map((petition: PetitionView) => (
          <li key={petition.id} className="card petition" data-petition={petition.id}>
            <h3>
              {petition.resources.map(resourceLabel).join(', ')} <StateBadge state={petition.state} />
            </h3>
            <p className="muted">
              {petition.reason || 'no reason given'} · asked {new Date(petition.createdAt).toLocaleString()}
              {petition.durationSeconds ? ` · for ${formatDuration(petition.durationSeconds)}` : ''}
              {petition.emergency ? ' · break-glass' : ''}
            </p>
            <Reviews petition={petition} />
            {petition.state === 'open' ? (
              <button type="button" className="secondary" onClick={() => cancel.mutate(petition.id)} disabled={cancel.isPending}>
                Cancel request
              </button>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  )
}
