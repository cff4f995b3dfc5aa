import { useMutation, useQueryClient } from '@tanstack/react-query'
import { useEffect, useId, useState, type FormEvent } from 'react'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { useTitle } from '../../lib/router'
import { useSession } from '../../session'
import { AdminScreen, ConfirmButton, Field, when } from '../admin/admin-ui'
import { bodyIssues, issuesByField } from '../admin/field-errors'
import { LoadMore, ROLES, usePaged, type AdminRole } from '../admin/paged'

export function UsersScreen() {
  useTitle('Users')
  return (
    <AdminScreen title="Users">
      <Users />
    </AdminScreen>
  )
}

function Users() {
  const { api, space, me } = useSession()
  const queryClient = useQueryClient()
  const key = ['admin', space, 'users']
  const users = usePaged(key, async (cursor) => {
    const page = await api.user.list({ cursor, limit: 100 })
    return { items: page.users, nextCursor: page.nextCursor }
  })
  const [inviting, setInviting] = useState(false)
  const [notice, setNotice] = useState('')
  const refresh = () => queryClient.invalidateQueries({ queryKey: key })
  const action = useMutation({
    mutationFn: async (input: { kind: 'role'; userId: string; role: AdminRole } | { kind: 'deactivate' | 'delete'; userId: string; email: string }) => {
      if (input.kind === 'role') {
        const user = await api.user.update(input.userId, { role: input.role })
        return `${user.email} is now ${user.role}.`
      }
      if (input.kind === 'deactivate') {
        await api.user.deactivate(input.userId)
        return `${input.email} is deactivated: signed out everywhere, grants revoked, open requests cancelled.`
      }
      await api.user.delete(input.userId)
      return `${input.email} is deleted.`
    },
    onSuccess: (message) => {
      setNotice(message)
      return refresh()
    },
    onError: () => setNotice(''),
  })

  return (
    <section aria-labelledby="users-title" className="stack">
      <div className="row spread">
        <h1 id="users-title">Users</h1>
        {!inviting ? (
          <button type="button" onClick={() => setInviting(true)}>
            Invite user
          </button>
        ) : null}
      </div>
      {inviting ? (
        <InviteForm
          onDone={(email) => {
            setInviting(false)
            if (email) setNotice(`${email} can now sign in with the password you set; ask them to change it.`)
            return refresh()
          }}
        />
      ) : null}
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={action.error} prefix="The change failed" />
      {users.isPending ? <Loading what="users" /> : null}
      <ErrorMessage error={users.error} prefix="Could not list users" />
      {users.isSuccess && users.items.length === 0 ? (
        <EmptyState title="No users yet">Invite the people who request or review access with “Invite user”.</EmptyState>
      ) : null}
      {users.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Users of this space</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.items.map((user) => {
                const self = user.id === me?.userId
                const active = user.disabledAt === null
                return (
                  <tr key={user.id}>
                    <td>{user.email}</td>
                    <td>{user.name}</td>
                    <td>
                      <RoleCell
                        email={user.email}
                        role={user.role}
                        disabled={action.isPending || !active || self}
                        onChange={(role) => action.mutate({ kind: 'role', userId: user.id, role })}
                      />
                    </td>
                    <td>{active ? <span className="badge ok">active</span> : <span className="badge warn">deactivated {when(user.disabledAt)}</span>}</td>
                    <td className="actions">
                      {self ? (
                        <span className="muted">This is you</span>
                      ) : (
                        <>
                          {active ? (
                            <ConfirmButton
                              label="Deactivate"
                              confirmLabel={`Deactivate ${user.email}`}
                              question={`Sign ${user.email} out everywhere and revoke their grants?`}
                              disabled={action.isPending}
                              onConfirm={() => action.mutate({ kind: 'deactivate', userId: user.id, email: user.email })}
                            />
                          ) : null}{' '}
                          <ConfirmButton
                            label="Delete"
                            confirmLabel={`Delete ${user.email}`}
                            question={`Delete ${user.email} for good?`}
                            disabled={action.isPending}
                            onConfirm={() => action.mutate({ kind: 'delete', userId: user.id, email: user.email })}
                          />
                        </>
                      )}
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore query={users} />
    </section>
  )
}

/**
 * A role is changed with a button, not on the select's change: arrowing through a closed select
 * fires a change per key, and each would be a role change.
 */
function RoleCell({ email, role, disabled, onChange }: { email: string; role: AdminRole; disabled: boolean; onChange(role: AdminRole): void }) {
  const [chosen, setChosen] = useState<AdminRole>(role)
  useEffect(() => setChosen(role), [role])
  return (
    <span className="row nowrap">
      <select aria-label={`Role of ${email}`} value={chosen} disabled={disabled} onChange={(event) => setChosen(event.target.value as AdminRole)}>
        {ROLES.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
      {chosen !== role ? (
        <button type="button" disabled={disabled} onClick={() => onChange(chosen)}>
          Change role of {email}
        </button>
      ) : null}
    </span>
  )
}

function InviteForm({ onDone }: { onDone(email: string | null): void }) {
  const { api } = useSession()
  const id = useId()
  const [form, setForm] = useState({ email: '', name: '', role: 'member' as AdminRole, password: '' })
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [key]: event.target.value })
  const invite = useMutation({
    mutationFn: () => api.user.create({ email: form.email.trim(), name: form.name.trim(), role: form.role, ...(form.password ? { password: form.password } : {}) }),
    onSuccess: (user) => onDone(user.email),
  })
  const fields = issuesByField(bodyIssues(invite.error), ['email', 'name', 'role', 'password'])
  const submit = (event: FormEvent) => {
    event.preventDefault()
    invite.mutate()
  }
  const err = (key: string) => fields[key]
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Invite a user</h2>
      <div className="grid-form">
        <Field label="Email" messages={err('email')}>
          {(a11y) => <input {...a11y} name="email" type="email" value={form.email} onChange={set('email')} required autoComplete="off" />}
        </Field>
        <Field label="Name" messages={err('name')}>
          {(a11y) => <input {...a11y} name="name" value={form.name} onChange={set('name')} required autoComplete="off" />}
        </Field>
        <Field label="Role" messages={err('role')}>
          {(a11y) => (
            <select {...a11y} name="role" value={form.role} onChange={set('role')}>
              {ROLES.map((role) => (
                <option key={role} value={role}>
                  {role}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Initial password (at least 12 characters)" messages={err('password')}>
          {(a11y) => <input {...a11y} name="password" type="password" value={form.password} onChange={set('password')} minLength={12} required autoComplete="new-password" />}
        </Field>
      </div>
      <ErrorMessage error={invite.error} prefix="Could not invite" />
      <div className="row">
        <button type="submit" disabled={invite.isPending}>
          {invite.isPending ? 'Inviting…' : 'Invite'}
        </button>
        <button type="button" className="secondary" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  )
}
