import { useMutation } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { ErrorMessage } from '../../components/feedback'
import { useSession } from '../../session'
import { Field, FieldErrors, fieldProps } from '../admin/admin-ui'
import { bodyIssues, issuesByField } from '../admin/field-errors'

export const EVENTS = ['access/request', 'access/approve', 'access/deny', 'access/grant', 'access/revoke', 'access/expire'] as const
type EventType = (typeof EVENTS)[number]

export interface Endpoint {
  id: string
  url: string
  description: string
  events: string[]
  enabled: boolean
}

/** Create (the answer carries the signing secret, once) or edit an endpoint. No events ticked: all of them. */
export function WebhookForm({ endpoint, onDone }: { endpoint: Endpoint | null; onDone(result: { name: string; secret?: string } | null): void }) {
  const { api } = useSession()
  const id = useId()
  const [form, setForm] = useState({
    url: endpoint?.url ?? '',
    description: endpoint?.description ?? '',
    events: (endpoint?.events ?? []).filter((e): e is EventType => (EVENTS as readonly string[]).includes(e)),
    enabled: endpoint?.enabled ?? true,
  })
  const save = useMutation({
    mutationFn: async () => {
      const body = { url: form.url.trim(), description: form.description.trim(), events: form.events, enabled: form.enabled }
      if (endpoint) {
        const saved = await api.webhook.update(endpoint.id, body)
        return { name: saved.url }
      }
      const created = await api.webhook.create(body)
      return { name: created.url, secret: created.secret }
    },
    onSuccess: (result) => onDone(result),
  })
  const fields = issuesByField(bodyIssues(save.error), ['url', 'description', 'events', 'enabled'])
  const toggle = (event: EventType) => setForm((f) => ({ ...f, events: f.events.includes(event) ? f.events.filter((e) => e !== event) : [...f.events, event] }))
  const submit = (event: FormEvent) => {
    event.preventDefault()
    save.mutate()
  }
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{endpoint ? `Edit endpoint ${endpoint.url}` : 'New webhook endpoint'}</h2>
      <Field label="Endpoint URL" messages={fields.url}>
        {(a11y) => (
          <input
            {...a11y}
            name="url"
            type="url"
            value={form.url}
            onChange={(e) => setForm({ ...form, url: e.target.value })}
            required
            placeholder="https://hooks.example.com/gatehouse"
          />
        )}
      </Field>
      <Field label="Description" messages={fields.description}>
        {(a11y) => <input {...a11y} name="description" value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} />}
      </Field>
      <fieldset {...fieldProps(`${id}-events`, fields.events)}>
        <legend>Events (none ticked: all, including types added later)</legend>
        <div className="checks">
          {EVENTS.map((event) => (
            <label key={event} className="inline">
              <input type="checkbox" checked={form.events.includes(event)} onChange={() => toggle(event)} /> <code>{event}</code>
            </label>
          ))}
        </div>
        <FieldErrors id={`${id}-events`} messages={fields.events} />
      </fieldset>
      <label className="inline">
        <input type="checkbox" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.target.checked })} /> Enabled
      </label>
      <ErrorMessage error={save.error} prefix={endpoint ? 'Could not save the endpoint' : 'Could not create the endpoint'} />
      <div className="row">
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : endpoint ? 'Save endpoint' : 'Create endpoint'}
        </button>
        <button type="button" className="secondary" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  )
}
