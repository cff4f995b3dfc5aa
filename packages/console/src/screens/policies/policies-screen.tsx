import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import type { PolicyInput } from '@gatehouse/sdk/client'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { useTitle } from '../../lib/router'
import { useSession } from '../../session'
import { AdminScreen, ConfirmButton } from '../admin/admin-ui'
import { DocumentEditor, type DocField } from '../admin/document-editor'

const FIELDS: DocField[] = [
  { key: 'name', label: 'Name', kind: 'text', required: true },
  { key: 'priority', label: 'Priority', kind: 'number', required: true, help: 'Lower runs first; the first policy that matches a request decides it.' },
  {
    key: 'match',
    label: 'Match',
    kind: 'json',
    required: true,
    help: 'Which requests: {"resourceKinds": ["customer"], "labels": {"tier": "enterprise"}, "petitionerGroups": ["<group id>"]}; {} matches every request.',
  },
  {
    key: 'decision',
    label: 'Decision',
    kind: 'json',
    required: true,
    help: 'One of {"type": "auto_approve", "durationSeconds": 3600}, {"type": "auto_deny", "reason": "…"}, {"type": "review", "reviewers": {"groups": ["<group id>"]}, "approvalsRequired": 1}, {"type": "delegate", "url": "https://…"}.',
  },
  { key: 'maxDurationSeconds', label: 'Longest grant (seconds, optional)', kind: 'number' },
  { key: 'emergency', label: 'Break-glass (optional)', kind: 'json', help: '{"allowed": true, "maxDurationSeconds": 3600}: requesters may take access at once, with a reason, for at most that long.' },
]

const TEMPLATE = { name: '', priority: 100, match: { resourceKinds: ['customer'] }, decision: { type: 'review', approvalsRequired: 1 } }

/** What the editor edits: the policy without what the server sets. */
function editable<T extends { id: string; createdAt: string; updatedAt: string }>(policy: T): Record<string, unknown> {
  const { id: _id, createdAt: _c, updatedAt: _u, ...rest } = policy
  return rest
}

export function PoliciesScreen() {
  useTitle('Access policies')
  return (
    <AdminScreen title="Access policies">
      <Policies />
    </AdminScreen>
  )
}

function Policies() {
  const { api, space } = useSession()
  const queryClient = useQueryClient()
  const key = ['admin', space, 'policies']
  const policies = useQuery({ queryKey: key, queryFn: () => api.policy.list() })
  // null: no editor; 'new': creating; else the id being edited.
  const [editing, setEditing] = useState<string | null>(null)
  const [notice, setNotice] = useState('')
  const save = useMutation({
    mutationFn: (input: { id: string | null; doc: Record<string, unknown> }) =>
      input.id ? api.policy.replace(input.id, input.doc as unknown as PolicyInput) : api.policy.create(input.doc as unknown as PolicyInput),
    onSuccess: (policy, input) => {
      setNotice(`Policy ${policy.name} is ${input.id ? 'saved' : 'created'}.`)
      setEditing(null)
      return queryClient.invalidateQueries({ queryKey: key })
    },
  })
  const remove = useMutation({
    mutationFn: async (policy: { id: string; name: string }) => {
      await api.policy.delete(policy.id)
      return policy
    },
    onSuccess: (policy) => {
      setNotice(`Policy ${policy.name} is deleted.`)
      return queryClient.invalidateQueries({ queryKey: key })
    },
  })
  const open = (id: string) => {
    save.reset()
    setNotice('')
    setEditing(id)
  }
  const list = policies.data?.policies ?? []
  const current = list.find((policy) => policy.id === editing)

  return (
    <section aria-labelledby="policies-title" className="stack">
      <div className="row spread">
        <h1 id="policies-title">Access policies</h1>
        {editing === null ? <button type="button" onClick={() => open('new')}>New policy</button> : null}
      </div>
      <p className="muted">When someone requests access, policies are tried by priority; the first that matches approves, denies, or sends the request for review.</p>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      {editing !== null ? (
        <DocumentEditor
          key={editing}
          title={current ? `Edit policy ${current.name}` : 'New policy'}
          fields={FIELDS}
          initial={current ? editable(current) : TEMPLATE}
          submitLabel={current ? 'Save policy' : 'Create policy'}
          pending={save.isPending}
          error={save.error}
          onSubmit={(doc) => save.mutate({ id: current ? current.id : null, doc })}
          onCancel={() => setEditing(null)}
        />
      ) : null}
      <ErrorMessage error={remove.error} prefix="Could not delete" />
      {policies.isPending ? <Loading what="policies" /> : null}
      <ErrorMessage error={policies.error} prefix="Could not list policies" />
      {policies.isSuccess && list.length === 0 ? (
        <EmptyState title="No access policies yet">
          Without a policy every request waits for any reviewer. Create one with “New policy”, e.g. review by a group for customer data.
        </EmptyState>
      ) : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Access policies, in the order they are tried</caption>
            <thead>
              <tr>
                <th scope="col">Priority</th>
                <th scope="col">Name</th>
                <th scope="col">Matches</th>
                <th scope="col">Decision</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((policy) => (
                <tr key={policy.id} className={policy.id === editing ? 'selected' : undefined}>
                  <td>{policy.priority}</td>
                  <td>{policy.name}</td>
                  <td>
                    <code>{JSON.stringify(policy.match)}</code>
                  </td>
                  <td>{policy.decision.type.replace('_', ' ')}</td>
                  <td className="actions">
                    <button type="button" className="secondary" onClick={() => open(policy.id)}>
                      Edit {policy.name}
                    </button>{' '}
                    <ConfirmButton
                      label="Delete"
                      confirmLabel={`Delete ${policy.name}`}
                      question={`Delete policy ${policy.name}?`}
                      disabled={remove.isPending}
                      onConfirm={() => remove.mutate(policy)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  )
}
