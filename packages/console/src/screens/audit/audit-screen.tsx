import type { AuditEvent } from '@gatehouse/sdk/client'
import { useMutation, useQuery } from '@tanstack/react-query'
import { useState } from 'react'
import { DataTable, type Column } from '../../components/data-table'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { useTitle } from '../../lib/router'
import { useSession } from '../../session'
import { actorText, COMMON_EVENTS, localToIso } from './audit-logic'

/** The audit log, newest first: filters, live follow, one event's details, and verifying the chain. */
export function AuditScreen() {
  useTitle('Audit')
  const { api } = useSession()
  const [from, setFrom] = useState('')
  const [to, setTo] = useState('')
  const [actor, setActor] = useState('')
  const [event, setEvent] = useState('')
  const [resourceKind, setResourceKind] = useState('')
  const [resourceId, setResourceId] = useState('')
  const [live, setLive] = useState(true)
  const [open, setOpen] = useState<AuditEvent | null>(null)
  const query = {
    from: localToIso(from),
    to: localToIso(to),
    actor: actor.trim() || undefined,
    event: event.trim() || undefined,
    resourceKind: resourceKind.trim() || undefined,
    resourceId: resourceId.trim() || undefined,
  }
  const events = useQuery({ queryKey: ['audit', query], queryFn: () => api.audit.list({ ...query, limit: 100 }), refetchInterval: live ? 3000 : false })
  const verify = useMutation({ mutationFn: () => api.audit.verify() })

  const columns: Array<Column<AuditEvent>> = [
    { id: 'seq', header: '#', cell: ({ row }) => row.original.seq },
    { id: 'time', header: 'Time', cell: ({ row }) => new Date(row.original.time).toLocaleString() },
    { id: 'event', header: 'Event', cell: ({ row }) => <code>{row.original.event}</code> },
    { id: 'actor', header: 'Actor', cell: ({ row }) => actorText(row.original) },
    { id: 'resources', header: 'Resources', cell: ({ row }) => row.original.resources.map((r) => `${r.kind}:${r.id}`).join(', ') },
    {
      id: 'open',
      header: 'Details',
      cell: ({ row }) => (
        <button type="button" className="secondary" onClick={() => setOpen(row.original)} aria-label={`Open event ${row.original.seq}`}>
          Open
        </button>
      ),
    },
  ]
  return (
    <>
      <h1>Audit</h1>
      <div className="toolbar" role="search">
        <label>
          From
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <label>
          Actor id
          <input value={actor} onChange={(e) => setActor(e.target.value)} placeholder="usr_… or svc_…" />
        </label>
        <label>
          Event
          <input value={event} onChange={(e) => setEvent(e.target.value)} list="audit-events" placeholder="access/approve" />
          <datalist id="audit-events">
            {COMMON_EVENTS.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </label>
        <label>
          Resource kind
          <input value={resourceKind} onChange={(e) => setResourceKind(e.target.value)} placeholder="customer" />
        </label>
        <label>
          Resource id
          <input value={resourceId} onChange={(e) => setResourceId(e.target.value)} placeholder="c_42" />
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} />
          Follow live
        </label>
        <button type="button" className="secondary" onClick={() => verify.mutate()} disabled={verify.isPending}>
          {verify.isPending ? 'Verifying…' : 'Verify the chain'}
        </button>
      </div>
      <ErrorMessage error={verify.error} prefix="Verify failed" />
      {verify.data ? (
        <p className={verify.data.ok ? 'notice' : 'error'} role="status">
          {verify.data.ok
            ? `Chain intact: ${verify.data.checkedEvents} events checked, head #${verify.data.head.seq} ${verify.data.head.hash.slice(0, 16)}…`
            : `Chain broken at #${verify.data.firstBroken?.seq}: ${verify.data.firstBroken?.reason}`}
        </p>
      ) : null}
      <ErrorMessage error={events.error} />
      {events.isLoading ? (
        <Loading what="events" />
      ) : (
        <DataTable
          caption="Audit events"
          columns={columns}
          data={events.data?.events ?? []}
          rowKey={(e) => e.id}
          rowClass={(e) => (open?.id === e.id ? 'selected' : undefined)}
          empty={<EmptyState title="No events match">Widen the time range or clear a filter.</EmptyState>}
        />
      )}
      {open ? (
        <section className="card section" aria-labelledby="event-title">
          <h2 id="event-title">
            Event #{open.seq} <code>{open.event}</code>
          </h2>
          <dl className="kv">
            <dt>Time</dt>
            <dd>{new Date(open.time).toISOString()}</dd>
            <dt>Actor</dt>
            <dd>
              {actorText(open)} <code>{open.actor.id}</code>
            </dd>
            <dt>Hash</dt>
            <dd>
              <code>{open.hash}</code>
            </dd>
            <dt>Previous</dt>
            <dd>
              <code>{open.prevHash}</code>
            </dd>
          </dl>
          <pre className="meta">{JSON.stringify(open.meta, null, 2)}</pre>
          <p className="muted">Its place in the chain is checked by “Verify the chain”; inclusion proofs appear here once the verifiable log is served.</p>
          <button type="button" className="secondary" onClick={() => setOpen(null)}>
            Close
          </button>
        </section>
      ) : null}
    </>
  )
}
