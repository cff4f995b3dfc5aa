import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useState } from 'react'
import { ErrorMessage, Loading } from '../../components/feedback'
import { useSession } from '../../session'
import { when } from '../admin/admin-ui'
import { LoadMore, usePaged } from '../admin/paged'

const STATES = ['pending', 'delivered', 'failed', 'cancelled'] as const
type State = (typeof STATES)[number]
const BADGE: Record<State, string> = { pending: 'badge warn', delivered: 'badge ok', failed: 'badge danger', cancelled: 'badge' }

/** An endpoint's deliveries, newest first, with each one's attempts on demand and a redeliver button. */
export function Deliveries({ endpoint }: { endpoint: { id: string; url: string; enabled: boolean } }) {
  const { api, space } = useSession()
  const queryClient = useQueryClient()
  const id = useId()
  const [state, setState] = useState<State | ''>('')
  const [open, setOpen] = useState<string | null>(null)
  const key = ['admin', space, 'webhook-deliveries', endpoint.id, state]
  const deliveries = usePaged(key, async (cursor) => {
    const page = await api.webhook.listDeliveries(endpoint.id, { cursor, limit: 50, ...(state ? { state } : {}) })
    return { items: page.deliveries, nextCursor: page.nextCursor }
  })
  const [notice, setNotice] = useState('')
  const redeliver = useMutation({
    mutationFn: (deliveryId: string) => api.webhook.redeliver(endpoint.id, deliveryId),
    onSuccess: (delivery) => {
      setNotice(`Delivery of ${delivery.eventType} is queued again.`)
      return queryClient.invalidateQueries({ queryKey: ['admin', space, 'webhook-deliveries', endpoint.id] })
    },
    onError: () => setNotice(''),
  })
  return (
    <section className="card stack" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Deliveries to {endpoint.url}</h2>
      <div className="row">
        <label>
          Show
          <select value={state} onChange={(e) => setState(e.target.value as State | '')}>
            <option value="">all deliveries</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="secondary" onClick={() => deliveries.refetch()}>
          Refresh
        </button>
      </div>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={redeliver.error} prefix="Could not redeliver" />
      {deliveries.isPending ? <Loading what="deliveries" /> : null}
      <ErrorMessage error={deliveries.error} prefix="Could not list deliveries" />
      {deliveries.isSuccess && deliveries.items.length === 0 ? (
        <p className="muted">No deliveries{state ? ` in state ${state}` : ''} yet. Events are sent here when people request, get or lose access.</p>
      ) : null}
      {deliveries.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Deliveries to {endpoint.url}</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Last attempt</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.items.map((delivery) => (
                <tr key={delivery.id}>
                  <td>
                    <code>{delivery.eventType}</code>
                    {open === delivery.id ? <Attempts endpointId={endpoint.id} deliveryId={delivery.id} /> : null}
                  </td>
                  <td>
                    <span className={BADGE[delivery.state]}>{delivery.state}</span>
                    {delivery.nextAttemptAt && delivery.state === 'pending' ? <div className="muted">next {when(delivery.nextAttemptAt)}</div> : null}
                  </td>
                  <td>{delivery.attemptCount}</td>
                  <td>{delivery.lastStatusCode ?? '—'}</td>
                  <td>{when(delivery.lastAttemptAt)}</td>
                  <td className="actions">
                    <button type="button" className="secondary" aria-expanded={open === delivery.id} onClick={() => setOpen(open === delivery.id ? null : delivery.id)}>
                      Attempts
                    </button>{' '}
                    <button
                      type="button"
                      className="secondary"
                      disabled={redeliver.isPending || delivery.state === 'pending' || !endpoint.enabled}
                      title={!endpoint.enabled ? 'Enable the endpoint first' : delivery.state === 'pending' ? 'Already queued' : undefined}
                      onClick={() => redeliver.mutate(delivery.id)}
                    >
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore query={deliveries} />
    </section>
  )
}

function Attempts({ endpointId, deliveryId }: { endpointId: string; deliveryId: string }) {
  const { api, space } = useSession()
  const detail = useQuery({ queryKey: ['admin', space, 'webhook-delivery', deliveryId], queryFn: () => api.webhook.getDelivery(endpointId, deliveryId) })
  if (detail.isPending) return <Loading what="attempts" />
  if (detail.error) return <ErrorMessage error={detail.error} />
  const attempts = detail.data.attempts
  if (attempts.length === 0) return <p className="muted">Not attempted yet.</p>
  return (
    <ol className="attempts">
      {attempts.map((attempt) => (
        <li key={attempt.attempt}>
          {when(attempt.attemptedAt)}: {attempt.statusCode !== null ? `HTTP ${attempt.statusCode}` : (attempt.error ?? 'no answer')} ({attempt.durationMs} ms)
        </li>
      ))}
    </ol>
  )
}
