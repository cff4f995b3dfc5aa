import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { useTitle } from '../../lib/router'
import { useSession } from '../../session'
import { AdminScreen, ConfirmButton, OnceSecret } from '../admin/admin-ui'
import { LoadMore, usePaged } from '../admin/paged'
import { Deliveries } from './deliveries'
import { WebhookForm } from './webhook-form'

export function WebhooksScreen() {
  useTitle('Webhooks')
  return (
    <AdminScreen title="Webhooks">
      <Webhooks />
    </AdminScreen>
  )
}

function Webhooks() {
  const { api, space } = useSession()
  const queryClient = useQueryClient()
  const key = ['admin', space, 'webhooks']
  const endpoints = usePaged(key, async (cursor) => {
    const page = await api.webhook.list({ cursor, limit: 100 })
    return { items: page.webhooks, nextCursor: page.nextCursor }
  })
  // null: no form; 'new'; else the endpoint being edited.
  const [editing, setEditing] = useState<string | null>(null)
  const [selected, setSelected] = useState<string | null>(null)
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null)
  const [notice, setNotice] = useState('')
  const refresh = () => queryClient.invalidateQueries({ queryKey: key })
  const change = useMutation({
    mutationFn: async (input: { kind: 'delete' | 'rotate'; id: string; url: string }) => {
      if (input.kind === 'delete') {
        await api.webhook.delete(input.id)
        return { ...input, secret: undefined }
      }
      const rotated = await api.webhook.rotateSecret(input.id, {})
      return { ...input, secret: rotated.secret, until: rotated.previousSecretExpiresAt }
    },
    onSuccess: (result) => {
      if (result.kind === 'delete') {
        setNotice(`Endpoint ${result.url} is deleted.`)
        if (selected === result.id) setSelected(null)
      } else {
        setNotice('')
        setSecret({ name: `New signing secret for ${result.url}`, secret: result.secret! })
      }
      return refresh()
    },
    onError: () => setNotice(''),
  })
  const current = endpoints.items.find((e) => e.id === editing) ?? null
  const shown = endpoints.items.find((e) => e.id === selected)

  return (
    <section aria-labelledby="webhooks-title" className="stack">
      <div className="row spread">
        <h1 id="webhooks-title">Webhooks</h1>
        {editing === null ? (
          <button
            type="button"
            onClick={() => {
              setSecret(null)
              setEditing('new')
            }}
          >
            New endpoint
          </button>
        ) : null}
      </div>
      <p className="muted">Gatehouse POSTs access events to these URLs, signed per Standard Webhooks; see docs/webhooks.md for verifying them.</p>
      {secret ? <OnceSecret label={secret.name} secret={secret.secret} onDone={() => setSecret(null)} /> : null}
      {editing !== null ? (
        <WebhookForm
          key={editing}
          endpoint={current}
          onDone={(result) => {
            setEditing(null)
            if (!result) return
            if (result.secret) setSecret({ name: `Signing secret for ${result.name}`, secret: result.secret })
            else setNotice(`Endpoint ${result.name} is saved.`)
            return refresh()
          }}
        />
      ) : null}
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={change.error} prefix="The change failed" />
      {endpoints.isPending ? <Loading what="webhook endpoints" /> : null}
      <ErrorMessage error={endpoints.error} prefix="Could not list endpoints" />
      {endpoints.isSuccess && endpoints.items.length === 0 ? (
        <EmptyState title="No webhook endpoints yet">Add one with “New endpoint” to be told when access is requested, granted or taken away.</EmptyState>
      ) : null}
      {endpoints.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Webhook endpoints</caption>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {endpoints.items.map((endpoint) => (
                <tr key={endpoint.id} className={endpoint.id === selected ? 'selected' : undefined}>
                  <td className="break">
                    {endpoint.url}
                    {endpoint.description ? <div className="muted">{endpoint.description}</div> : null}
                  </td>
                  <td>{endpoint.events.length === 0 || endpoint.events.includes('*') ? 'all' : endpoint.events.join(', ')}</td>
                  <td>
                    {endpoint.enabled ? <span className="badge ok">enabled</span> : <span className="badge warn">disabled</span>}
                    {endpoint.disabledReason ? <div className="muted">{endpoint.disabledReason}</div> : null}
                  </td>
                  <td className="actions">
                    <button type="button" className="secondary" aria-pressed={endpoint.id === selected} onClick={() => setSelected(endpoint.id === selected ? null : endpoint.id)}>
                      Deliveries
                    </button>{' '}
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => {
                        setSecret(null)
                        setEditing(endpoint.id)
                      }}
                    >
                      Edit
                    </button>{' '}
                    <ConfirmButton
                      label="Rotate secret"
                      confirmLabel="Rotate now"
                      question="Issue a new signing secret? The old one keeps signing for a while, so receivers can switch."
                      disabled={change.isPending}
                      onConfirm={() => change.mutate({ kind: 'rotate', id: endpoint.id, url: endpoint.url })}
                    />{' '}
                    <ConfirmButton
                      label="Delete"
                      confirmLabel={`Delete endpoint`}
                      question={`Delete ${endpoint.url}? Queued deliveries are dropped.`}
                      disabled={change.isPending}
                      onConfirm={() => change.mutate({ kind: 'delete', id: endpoint.id, url: endpoint.url })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore query={endpoints} />
      {shown ? <Deliveries key={shown.id} endpoint={shown} /> : null}
    </section>
  )
}
