import type { Grant } from '@gatehouse/sdk/client'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { resourceLabel } from '../../components/petition-bits'
import { chooseDuration, countdown } from '../../logic/duration'
import { useNow } from '../../lib/use-now'
import { useMe, useSession } from '../../session'

export function MyGrants() {
  const { api } = useSession()
  const me = useMe()
  const now = useNow()
  const queryClient = useQueryClient()
  const [extendBy, setExtendBy] = useState('1h')
  const [notice, setNotice] = useState<string | null>(null)
  const grants = useQuery({ queryKey: ['my-grants', me.email], queryFn: () => api.grant.list({ petitioner: me.email, active: true, limit: 50 }), refetchInterval: 5000 })
  const extend = useMutation({
    mutationFn: (grant: Grant) => {
      const choice = chooseDuration(extendBy)
      if (!choice.ok) throw new Error(choice.error)
      return api.grant.extend(grant.id, { durationSeconds: choice.seconds, reason: `extend ${resourceLabel(grant.resource)}` })
    },
    onSuccess: (petition) => {
      setNotice(`Extension requested (${petition.state}).`)
      void queryClient.invalidateQueries({ queryKey: ['my-petitions'] })
      void queryClient.invalidateQueries({ queryKey: ['my-grants'] })
    },
  })
  const list = grants.data?.grants ?? []
  return (
    <section className="section" aria-labelledby="my-grants-title">
      <h2 id="my-grants-title">My active grants</h2>
      <ErrorMessage error={grants.error} />
      <ErrorMessage error={extend.error} prefix="Extend failed" />
      {notice ? <p className="notice" role="status">{notice}</p> : null}
      {grants.isLoading ? <Loading what="your grants" /> : null}
      {grants.data && list.length === 0 ? <EmptyState title="No active grants">Once a reviewer approves a request, it shows here with its countdown.</EmptyState> : null}
      {list.length > 0 ? (
        <label className="row">
          Extend by
          <input value={extendBy} onChange={(e) => setExtendBy(e.target.value)} size={6} />
        </label>
      ) : null}
      <ul className="list">
        {list.map((grant) => (
          <li key={grant.id} className="card petition" data-grant={grant.id}>
            <h3>{resourceLabel(grant.resource)}</h3>
            <p>
              <span className="badge ok">{countdown(grant.expiresAt, now)}</span> <span className="muted">until {new Date(grant.expiresAt).toLocaleString()}</span>
              {grant.emergency ? <span className="badge warn">break-glass</span> : null}
            </p>
            <button type="button" className="secondary" onClick={() => extend.mutate(grant)} disabled={extend.isPending}>
              Extend
            </button>
          </li>
        ))}
      </ul>
    </section>
  )
}
