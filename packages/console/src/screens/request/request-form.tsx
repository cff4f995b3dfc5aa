import type { Resource } from '@gatehouse/sdk/client'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useMemo, useState, type FormEvent } from 'react'
import { DataTable, type Column } from '../../components/data-table'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { chooseDuration, DURATION_PRESETS, formatDuration } from '../../logic/duration'
import { useMe, useSession } from '../../session'

const key = (resource: { kind: string; id: string }) => `${resource.kind}:${resource.id}`

/** `region:eu team:core` → { region: 'eu', team: 'core' }; anything else is an error to show. */
export function parseLabels(text: string): { labels: Record<string, string> } | { error: string } {
  const labels: Record<string, string> = {}
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const colon = part.indexOf(':')
    if (colon <= 0 || colon === part.length - 1) return { error: `label filter '${part}' should look like name:value` }
    labels[part.slice(0, colon)] = part.slice(colon + 1)
  }
  return { labels }
}

export function RequestForm() {
  const { api } = useSession()
  const me = useMe()
  const queryClient = useQueryClient()
  const [kind, setKind] = useState('')
  const [labelText, setLabelText] = useState('')
  const [text, setText] = useState('')
  const [selected, setSelected] = useState<Map<string, { kind: string; id: string }>>(new Map())
  const [reason, setReason] = useState('')
  const [duration, setDuration] = useState('1h')
  const [startsAt, setStartsAt] = useState('')
  const [emergency, setEmergency] = useState(false)
  const [notice, setNotice] = useState<string | null>(null)

  const labels = parseLabels(labelText)
  const resources = useQuery({
    queryKey: ['resources', kind, labelText],
    queryFn: () => api.resource.list({ kind: kind.trim() || undefined, labels: 'labels' in labels ? labels.labels : undefined, limit: 500 }),
    enabled: 'labels' in labels,
  })
  // Name and id are matched here, on the page the server returned for the kind and labels.
  const needle = text.trim().toLowerCase()
  const shown = useMemo(
    () => (resources.data?.resources ?? []).filter((r) => !needle || r.id.toLowerCase().includes(needle) || r.displayName.toLowerCase().includes(needle)),
    [resources.data, needle],
  )

  const choice = chooseDuration(duration)
  const submit = useMutation({
    mutationFn: () => {
      if (!choice.ok) throw new Error(choice.error)
      return api.petition.create({
        petitioners: [{ kind: 'user', id: me.userId, email: me.email }],
        resources: [...selected.values()],
        reason: reason.trim(),
        durationSeconds: choice.seconds,
        ...(startsAt ? { startsAt: new Date(startsAt).toISOString() } : {}),
        ...(emergency ? { emergency: true } : {}),
      })
    },
    onSuccess: (petition) => {
      setNotice(petition.state === 'granted' ? 'Granted at once by policy.' : `Request sent (${petition.state}).`)
      setSelected(new Map())
      setReason('')
      void queryClient.invalidateQueries({ queryKey: ['my-petitions'] })
      void queryClient.invalidateQueries({ queryKey: ['my-grants'] })
    },
  })

  const toggle = (resource: Resource) => {
    const next = new Map(selected)
    if (next.has(key(resource))) next.delete(key(resource))
    else next.set(key(resource), { kind: resource.kind, id: resource.id })
    setSelected(next)
  }
  const columns: Array<Column<Resource>> = [
    {
      id: 'pick',
      header: 'Ask',
      cell: ({ row }) => (
        <input type="checkbox" aria-label={`Ask for ${key(row.original)}`} checked={selected.has(key(row.original))} onChange={() => toggle(row.original)} />
      ),
    },
    { id: 'kind', header: 'Kind', cell: ({ row }) => row.original.kind },
    { id: 'id', header: 'Id', cell: ({ row }) => <code>{row.original.id}</code> },
    { id: 'name', header: 'Name', cell: ({ row }) => row.original.displayName },
    {
      id: 'labels',
      header: 'Labels',
      cell: ({ row }) =>
        Object.entries(row.original.labels).map(([name, value]) => (
          <span key={name} className="badge">
            {name}:{value}
          </span>
        )),
    },
  ]

  const send = (event: FormEvent) => {
    event.preventDefault()
    setNotice(null)
    submit.mutate()
  }
  return (
    <section aria-labelledby="find-title">
      <h2 id="find-title">Find resources</h2>
      <div className="toolbar" role="search">
        <label>
          Kind
          <input value={kind} onChange={(e) => setKind(e.target.value)} placeholder="customer" />
        </label>
        <label>
          Name or id
          <input value={text} onChange={(e) => setText(e.target.value)} placeholder="c_42 or Umbrella" />
        </label>
        <label>
          Labels
          <input value={labelText} onChange={(e) => setLabelText(e.target.value)} placeholder="region:eu" />
        </label>
      </div>
      {'error' in labels ? <p className="error" role="alert">{labels.error}</p> : null}
      <ErrorMessage error={resources.error} />
      {resources.isLoading ? (
        <Loading what="resources" />
      ) : (
        <DataTable
          caption="Resources"
          columns={columns}
          data={shown}
          rowKey={key}
          empty={
            <EmptyState title="No resources match">
              {resources.data?.resources.length ? 'Clear the name filter, or try another kind or label.' : 'An admin uploads resources (resources:bulkUpdate); ask them, or try another kind.'}
            </EmptyState>
          }
        />
      )}

      <form className="card stack section" onSubmit={send} aria-labelledby="ask-title">
        <h2 id="ask-title">Ask for access</h2>
        <p>{selected.size === 0 ? 'Tick one or more resources above.' : `Asking for: ${[...selected.keys()].join(', ')}`}</p>
        <label>
          Reason
          <textarea value={reason} onChange={(e) => setReason(e.target.value)} rows={2} maxLength={2000} required placeholder="Ticket #123: customer cannot export invoices" />
        </label>
        <div className="row">
          <label>
            Duration
            <input value={duration} onChange={(e) => setDuration(e.target.value)} aria-describedby="duration-help" />
          </label>
          <label>
            Preset
            <select value="" onChange={(e) => e.target.value && setDuration(formatDuration(Number(e.target.value)).replace(/ /g, ''))}>
              <option value="">Choose…</option>
              {DURATION_PRESETS.map((preset) => (
                <option key={preset.seconds} value={preset.seconds}>
                  {preset.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Start (optional)
            <input type="datetime-local" value={startsAt} onChange={(e) => setStartsAt(e.target.value)} />
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={emergency} onChange={(e) => setEmergency(e.target.checked)} />
            Break-glass (where a policy allows it)
          </label>
        </div>
        <p id="duration-help" className={choice.ok ? 'muted' : 'error'}>
          {choice.ok ? `For ${formatDuration(choice.seconds)}; a reviewer may shorten it, and a policy may cap it.` : choice.error}
        </p>
        <ErrorMessage error={submit.error} />
        {notice ? (
          <p className="notice" role="status">
            {notice}
          </p>
        ) : null}
        <div>
          <button type="submit" disabled={submit.isPending || selected.size === 0 || !choice.ok}>
            {submit.isPending ? 'Sending…' : 'Request access'}
          </button>
        </div>
      </form>
    </section>
  )
}
