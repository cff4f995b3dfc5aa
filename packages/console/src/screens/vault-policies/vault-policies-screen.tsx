import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import type { BodyOf } from '@gatehouse/sdk/client'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { useTitle } from '../../lib/router'
import { useSession } from '../../session'
import { AdminScreen, ConfirmButton } from '../admin/admin-ui'
import { DocumentEditor, type DocField } from '../admin/document-editor'

type VaultPolicyInput = BodyOf<'createVaultPolicy'>

const RULES_HELP =
  'One rule per model: {"<model>": {"actions": ["read"], "readable": ["id", "email"], "masked": {"email": "email"}, "acl": {"source": "grants", "resourceKind": "customer", "field": "id"}}}. ' +
  'acl.source "grants" opens only the rows of customers a grant names; "none" opens every row; "external" asks your filter endpoint.'

export function VaultPoliciesScreen() {
  useTitle('Vault policies')
  return (
    <AdminScreen title="Vault policies">
      <VaultPolicies />
    </AdminScreen>
  )
}

function VaultPolicies() {
  const { api, space } = useSession()
  const queryClient = useQueryClient()
  const key = ['admin', space, 'vault-policies']
  const policies = useQuery({ queryKey: key, queryFn: () => api.vault.policy.list() })
  const models = useQuery({ queryKey: ['admin', space, 'vault-models'], queryFn: () => api.vault.model.list() })
  const [editing, setEditing] = useState<string | null>(null)
  const [notice, setNotice] = useState('')
  const save = useMutation({
    mutationFn: (input: { id: string | null; doc: Record<string, unknown> }) =>
      input.id ? api.vault.policy.replace(input.id, input.doc as unknown as VaultPolicyInput) : api.vault.policy.create(input.doc as unknown as VaultPolicyInput),
    onSuccess: (policy, input) => {
      setNotice(`Vault policy ${policy.name} is ${input.id ? 'saved' : 'created'}.`)
      setEditing(null)
      return queryClient.invalidateQueries({ queryKey: key })
    },
  })
  const remove = useMutation({
    mutationFn: async (policy: { id: string; name: string }) => {
      await api.vault.policy.delete(policy.id)
      return policy
    },
    onSuccess: (policy) => {
      setNotice(`Vault policy ${policy.name} is deleted.`)
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
  const modelNames = (models.data?.models ?? []).map((model) => model.name)
  const firstModel = models.data?.models[0]
  const template = {
    name: '',
    rules: {
      [firstModel?.name ?? 'customers']: {
        actions: ['read'],
        readable: firstModel ? [firstModel.primaryKey] : ['id'],
        acl: { source: 'grants', resourceKind: 'customer', field: firstModel?.primaryKey ?? 'id' },
      },
    },
  }
  const fields: DocField[] = [
    { key: 'name', label: 'Name', kind: 'text', required: true },
    {
      key: 'rules',
      label: 'Rules',
      kind: 'json',
      required: true,
      help: `${RULES_HELP} Models in this space: ${modelNames.length ? modelNames.join(', ') : 'none yet (create one with the API or the SDK first)'}.`,
    },
  ]

  return (
    <section aria-labelledby="vault-policies-title" className="stack">
      <div className="row spread">
        <h1 id="vault-policies-title">Vault policies</h1>
        {editing === null ? <button type="button" onClick={() => open('new')}>New vault policy</button> : null}
      </div>
      <p className="muted">A vault policy says what the vault clients holding it may read, filter, write and see masked, per model and per row.</p>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      {editing !== null && !models.isPending ? (
        <DocumentEditor
          key={editing}
          title={current ? `Edit vault policy ${current.name}` : 'New vault policy'}
          fields={fields}
          initial={current ? { name: current.name, rules: current.rules } : template}
          submitLabel={current ? 'Save vault policy' : 'Create vault policy'}
          pending={save.isPending}
          error={save.error}
          onSubmit={(doc) => save.mutate({ id: current ? current.id : null, doc })}
          onCancel={() => setEditing(null)}
        />
      ) : null}
      <ErrorMessage error={remove.error} prefix="Could not delete" />
      {policies.isPending ? <Loading what="vault policies" /> : null}
      <ErrorMessage error={policies.error} prefix="Could not list vault policies" />
      {policies.isSuccess && list.length === 0 ? (
        <EmptyState title="No vault policies yet">
          Vault clients can read nothing until a policy opens a model to them. Create one with “New vault policy”, then name it when you create a vault client.
        </EmptyState>
      ) : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Vault policies</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Models</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((policy) => (
                <tr key={policy.id} className={policy.id === editing ? 'selected' : undefined}>
                  <td>{policy.name}</td>
                  <td>{Object.keys(policy.rules).join(', ') || '—'}</td>
                  <td className="actions">
                    <button type="button" className="secondary" onClick={() => open(policy.id)}>
                      Edit {policy.name}
                    </button>{' '}
                    <ConfirmButton
                      label="Delete"
                      confirmLabel={`Delete ${policy.name}`}
                      question={`Delete vault policy ${policy.name}? Clients holding it lose that access.`}
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
