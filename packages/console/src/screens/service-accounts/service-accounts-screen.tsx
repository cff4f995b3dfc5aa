import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { useTitle } from '../../lib/router'
import { useSession } from '../../session'
import { AdminScreen, ConfirmButton, Field, FieldErrors, OnceSecret, fieldProps, when } from '../admin/admin-ui'
import { bodyIssues, issuesByField } from '../admin/field-errors'
import { LoadMore, ROLES, usePaged, type AdminRole } from '../admin/paged'

/** The scopes a token may be narrowed to (the server's list; none chosen means the account's role decides). */
const SCOPES = ['space:read', 'resources:read', 'resources:write', 'access:request', 'access:read', 'access:review', 'access:admin', 'audit:read', 'vault:admin', 'space:admin'] as const
type Scope = (typeof SCOPES)[number]

export function ServiceAccountsScreen() {
  useTitle('Service accounts')
  return (
    <AdminScreen title="Service accounts">
      <ServiceAccounts />
    </AdminScreen>
  )
}

function ServiceAccounts() {
  const { api, space } = useSession()
  const queryClient = useQueryClient()
  const key = ['admin', space, 'service-accounts']
  const accounts = usePaged(key, async (cursor) => {
    const page = await api.serviceAccount.list({ cursor, limit: 100 })
    return { items: page.serviceAccounts, nextCursor: page.nextCursor }
  })
  const [selected, setSelected] = useState<string | null>(null)
  const [notice, setNotice] = useState('')
  const remove = useMutation({
    mutationFn: async (account: { id: string; name: string }) => {
      await api.serviceAccount.delete(account.id)
      return account
    },
    onSuccess: (account) => {
      setNotice(`Service account ${account.name} is deleted; its tokens no longer work.`)
      if (selected === account.id) setSelected(null)
      return queryClient.invalidateQueries({ queryKey: key })
    },
    onError: () => setNotice(''),
  })
  const account = accounts.items.find((a) => a.id === selected)

  return (
    <section aria-labelledby="sa-title" className="stack">
      <h1 id="sa-title">Service accounts</h1>
      <p className="muted">A service account is a program acting in this space (a sync job, a support tool). It signs its calls with tokens you issue here.</p>
      <CreateAccount
        onCreated={(created) => {
          setNotice(`Service account ${created.name} is created: issue it a token below.`)
          setSelected(created.id)
          return queryClient.invalidateQueries({ queryKey: key })
        }}
      />
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={remove.error} prefix="Could not delete" />
      {accounts.isPending ? <Loading what="service accounts" /> : null}
      <ErrorMessage error={accounts.error} prefix="Could not list service accounts" />
      {accounts.isSuccess && accounts.items.length === 0 ? (
        <EmptyState title="No service accounts yet">Create one above for each program that calls Gatehouse, then issue it a token.</EmptyState>
      ) : null}
      {accounts.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Service accounts of this space</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Description</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {accounts.items.map((a) => (
                <tr key={a.id} className={a.id === selected ? 'selected' : undefined}>
                  <td>{a.name}</td>
                  <td>{a.role}</td>
                  <td>{a.description || <span className="muted">—</span>}</td>
                  <td>{when(a.createdAt)}</td>
                  <td className="actions">
                    <button type="button" className="secondary" aria-pressed={a.id === selected} onClick={() => setSelected(a.id === selected ? null : a.id)}>
                      Tokens of {a.name}
                    </button>{' '}
                    <ConfirmButton
                      label="Delete"
                      confirmLabel={`Delete ${a.name}`}
                      question={`Delete ${a.name}? Its tokens stop working.`}
                      disabled={remove.isPending}
                      onConfirm={() => remove.mutate(a)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore query={accounts} />
      {account ? <Tokens key={account.id} account={account} /> : null}
    </section>
  )
}

function CreateAccount({ onCreated }: { onCreated(account: { id: string; name: string }): void }) {
  const { api } = useSession()
  const id = useId()
  const [form, setForm] = useState({ name: '', description: '', role: 'member' as AdminRole })
  const create = useMutation({
    mutationFn: () => api.serviceAccount.create({ name: form.name.trim(), role: form.role, ...(form.description.trim() ? { description: form.description.trim() } : {}) }),
    onSuccess: (account) => {
      setForm({ name: '', description: '', role: 'member' })
      onCreated(account)
    },
  })
  const fields = issuesByField(bodyIssues(create.error), ['name', 'description', 'role'])
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate()
  }
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Create a service account</h2>
      <div className="row">
        <Field label="Account name" messages={fields.name}>
          {(a11y) => <input {...a11y} name="name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />}
        </Field>
        <Field label="Account role" messages={fields.role}>
          {(a11y) => (
            <select {...a11y} name="role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as AdminRole })}>
              {ROLES.map((role) => (
                <option key={role} value={role}>
                  {role}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Description" messages={fields.description} className="grow">
          {(a11y) => <input {...a11y} name="description" value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} />}
        </Field>
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create service account'}
        </button>
      </div>
      <ErrorMessage error={create.error} prefix="Could not create the service account" />
    </form>
  )
}

function Tokens({ account }: { account: { id: string; name: string } }) {
  const { api, space } = useSession()
  const queryClient = useQueryClient()
  const id = useId()
  const key = ['admin', space, 'tokens', account.id]
  const tokens = useQuery({ queryKey: key, queryFn: () => api.token.list({ subject: account.id, limit: 200 }) })
  const [form, setForm] = useState({ name: '', ttlDays: '', scopes: [] as Scope[] })
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null)
  const issue = useMutation({
    mutationFn: () =>
      api.token.issueForServiceAccount(account.id, {
        name: form.name.trim(),
        ...(form.scopes.length ? { scopes: form.scopes } : {}),
        ...(form.ttlDays.trim() ? { ttlSeconds: Math.round(Number(form.ttlDays) * 86_400) } : {}),
      }),
    onSuccess: (issued) => {
      setSecret({ name: issued.name, token: issued.token })
      setForm({ name: '', ttlDays: '', scopes: [] })
      return queryClient.invalidateQueries({ queryKey: key })
    },
  })
  const revoke = useMutation({
    mutationFn: (tokenId: string) => api.token.revoke(tokenId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: key }),
  })
  const fields = issuesByField(bodyIssues(issue.error), ['name', 'ttlSeconds', 'scopes'])
  const toggle = (scope: Scope) => setForm((f) => ({ ...f, scopes: f.scopes.includes(scope) ? f.scopes.filter((s) => s !== scope) : [...f.scopes, scope] }))
  const submit = (event: FormEvent) => {
    event.preventDefault()
    setSecret(null)
    issue.mutate()
  }
  const list = tokens.data?.tokens ?? []
  return (
    <section className="card stack" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Tokens of {account.name}</h2>
      {secret ? <OnceSecret label={`New token ${secret.name}`} secret={secret.token} onDone={() => setSecret(null)} /> : null}
      {tokens.isPending ? <Loading what="tokens" /> : null}
      <ErrorMessage error={tokens.error} prefix="Could not list tokens" />
      {tokens.isSuccess && list.length === 0 ? <p className="muted">No tokens yet: issue one below and give it to the program.</p> : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Tokens of {account.name}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Starts with</th>
                <th scope="col">Scopes</th>
                <th scope="col">Expires</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((token) => (
                <tr key={token.id}>
                  <td>{token.name}</td>
                  <td>
                    <code>{token.prefix}…</code>
                  </td>
                  <td>{token.scopes.join(', ') || '—'}</td>
                  <td>{token.expiresAt ? when(token.expiresAt) : 'never'}</td>
                  <td>{token.revokedAt ? <span className="badge danger">revoked {when(token.revokedAt)}</span> : <span className="badge ok">active</span>}</td>
                  <td>
                    {token.revokedAt ? null : (
                      <ConfirmButton
                        label="Revoke"
                        confirmLabel={`Revoke ${token.name}`}
                        question={`Revoke ${token.name}? Calls signed with it fail from now on.`}
                        disabled={revoke.isPending}
                        onConfirm={() => revoke.mutate(token.id)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ErrorMessage error={revoke.error} prefix="Could not revoke" />
      <form className="stack" onSubmit={submit} aria-label={`Issue a token for ${account.name}`}>
        <h3>Issue a token</h3>
        <div className="row">
          <Field label="Token name" messages={fields.name}>
            {(a11y) => <input {...a11y} name="name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />}
          </Field>
          <Field label="Expires after (days, empty for never)" messages={fields.ttlSeconds}>
            {(a11y) => (
              <input {...a11y} name="ttl" type="number" step="any" inputMode="decimal" value={form.ttlDays} onChange={(e) => setForm({ ...form, ttlDays: e.target.value })} />
            )}
          </Field>
        </div>
        <fieldset {...fieldProps(`${id}-scopes`, fields.scopes)}>
          <legend>Scopes (none: everything the account's role allows)</legend>
          <div className="checks">
            {SCOPES.map((scope) => (
              <label key={scope} className="inline">
                <input type="checkbox" checked={form.scopes.includes(scope)} onChange={() => toggle(scope)} /> <code>{scope}</code>
              </label>
            ))}
          </div>
          <FieldErrors id={`${id}-scopes`} messages={fields.scopes} />
        </fieldset>
        <ErrorMessage error={issue.error} prefix="Could not issue the token" />
        <div>
          <button type="submit" disabled={issue.isPending}>
            {issue.isPending ? 'Issuing…' : 'Issue token'}
          </button>
        </div>
      </form>
    </section>
  )
}
