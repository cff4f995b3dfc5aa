import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useId, useState, type FormEvent } from 'react'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { useTitle } from '../../lib/router'
import { useSession } from '../../session'
import { AdminScreen, ConfirmButton, Field } from '../admin/admin-ui'
import { bodyIssues, issuesByField } from '../admin/field-errors'
import { LoadMore, usePaged } from '../admin/paged'

export function GroupsScreen() {
  useTitle('Groups')
  return (
    <AdminScreen title="Groups">
      <Groups />
    </AdminScreen>
  )
}

function Groups() {
  const { api, space } = useSession()
  const queryClient = useQueryClient()
  const key = ['admin', space, 'groups']
  const groups = usePaged(key, async (cursor) => {
    const page = await api.group.list({ cursor, limit: 100 })
    return { items: page.groups, nextCursor: page.nextCursor }
  })
  // Members are user ids: the first 200 users name them (a bigger space shows the rest by id).
  const users = useQuery({ queryKey: ['admin', space, 'users', 'names'], queryFn: () => api.user.list({ limit: 200 }) })
  const emailOf = (userId: string) => users.data?.users.find((user) => user.id === userId)?.email ?? userId
  const [selected, setSelected] = useState<string | null>(null)
  const [notice, setNotice] = useState('')
  const refresh = () => queryClient.invalidateQueries({ queryKey: key })
  const change = useMutation({
    mutationFn: async (input: { kind: 'delete'; groupId: string; name: string } | { kind: 'add' | 'remove'; groupId: string; userId: string }) => {
      if (input.kind === 'delete') {
        await api.group.delete(input.groupId)
        return `Group ${input.name} is deleted.`
      }
      if (input.kind === 'add') {
        await api.group.addMember(input.groupId, input.userId)
        return `${emailOf(input.userId)} is now a member.`
      }
      await api.group.removeMember(input.groupId, input.userId)
      return `${emailOf(input.userId)} is no longer a member.`
    },
    onSuccess: (message, input) => {
      setNotice(message)
      if (input.kind === 'delete' && selected === input.groupId) setSelected(null)
      return refresh()
    },
    onError: () => setNotice(''),
  })
  const group = groups.items.find((g) => g.id === selected)

  return (
    <section aria-labelledby="groups-title" className="stack">
      <h1 id="groups-title">Groups</h1>
      <p className="muted">Groups name who may review (a policy's reviewers) and who a policy applies to (its petitioner groups).</p>
      <CreateGroup
        onCreated={(name) => {
          setNotice(`Group ${name} is created: add its members below.`)
          return refresh()
        }}
      />
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorMessage error={change.error} prefix="The change failed" />
      {groups.isPending ? <Loading what="groups" /> : null}
      <ErrorMessage error={groups.error} prefix="Could not list groups" />
      {groups.isSuccess && groups.items.length === 0 ? <EmptyState title="No groups yet">Create one above, e.g. “support-leads”, then add its members.</EmptyState> : null}
      {groups.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Groups of this space</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Description</th>
                <th scope="col">Members</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {groups.items.map((g) => (
                <tr key={g.id} className={g.id === selected ? 'selected' : undefined}>
                  <td>{g.name}</td>
                  <td>{g.description || <span className="muted">—</span>}</td>
                  <td>{g.members.length}</td>
                  <td className="actions">
                    <button type="button" className="secondary" aria-pressed={g.id === selected} onClick={() => setSelected(g.id === selected ? null : g.id)}>
                      Members of {g.name}
                    </button>{' '}
                    <ConfirmButton
                      label="Delete"
                      confirmLabel={`Delete ${g.name}`}
                      question={`Delete group ${g.name}? Policies naming it stop matching it.`}
                      disabled={change.isPending}
                      onConfirm={() => change.mutate({ kind: 'delete', groupId: g.id, name: g.name })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMore query={groups} />
      {group ? (
        <section className="card stack" aria-labelledby="members-title">
          <h2 id="members-title">Members of {group.name}</h2>
          {group.members.length === 0 ? <p className="muted">No members yet: add one below.</p> : null}
          <ul className="list">
            {group.members.map((userId) => (
              <li key={userId} className="row spread">
                <span>{emailOf(userId)}</span>
                <button type="button" className="secondary" disabled={change.isPending} onClick={() => change.mutate({ kind: 'remove', groupId: group.id, userId })}>
                  Remove {emailOf(userId)}
                </button>
              </li>
            ))}
          </ul>
          <AddMember
            candidates={(users.data?.users ?? []).filter((user) => !group.members.includes(user.id) && user.disabledAt === null)}
            pending={change.isPending}
            onAdd={(userId) => change.mutate({ kind: 'add', groupId: group.id, userId })}
          />
        </section>
      ) : null}
    </section>
  )
}

function AddMember({ candidates, pending, onAdd }: { candidates: Array<{ id: string; email: string }>; pending: boolean; onAdd(userId: string): void }) {
  const [userId, setUserId] = useState('')
  if (candidates.length === 0) return <p className="muted">Every active user is already a member. Invite more people on the Users screen.</p>
  const submit = (event: FormEvent) => {
    event.preventDefault()
    if (userId) onAdd(userId)
    setUserId('')
  }
  return (
    <form className="row" onSubmit={submit}>
      <label>
        User to add
        <select value={userId} onChange={(event) => setUserId(event.target.value)} required>
          <option value="">Choose a user…</option>
          {candidates.map((user) => (
            <option key={user.id} value={user.id}>
              {user.email}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={pending || !userId}>
        Add member
      </button>
    </form>
  )
}

function CreateGroup({ onCreated }: { onCreated(name: string): void }) {
  const { api } = useSession()
  const id = useId()
  const [form, setForm] = useState({ name: '', description: '' })
  const create = useMutation({
    mutationFn: () => api.group.create({ name: form.name.trim(), ...(form.description.trim() ? { description: form.description.trim() } : {}) }),
    onSuccess: (group) => {
      setForm({ name: '', description: '' })
      onCreated(group.name)
    },
  })
  const fields = issuesByField(bodyIssues(create.error), ['name', 'description'])
  const submit = (event: FormEvent) => {
    event.preventDefault()
    create.mutate()
  }
  return (
    <form className="card stack" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Create a group</h2>
      <div className="row">
        <Field label="Group name" messages={fields.name}>
          {(a11y) => <input {...a11y} name="name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />}
        </Field>
        <Field label="Description" messages={fields.description} className="grow">
          {(a11y) => <input {...a11y} name="description" value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} />}
        </Field>
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create group'}
        </button>
      </div>
      <ErrorMessage error={create.error} prefix="Could not create the group" />
    </form>
  )
}
