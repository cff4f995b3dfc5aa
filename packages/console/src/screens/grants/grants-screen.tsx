import type { Grant } from '@gatehouse/sdk/client'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { DataTable, type Column } from '../../components/data-table'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { resourceLabel } from '../../components/petition-bits'
import { ReasonDialog } from '../../components/reason-dialog'
import { countdown } from '../../logic/duration'
import { useTitle } from '../../lib/router'
import { useNow } from '../../lib/use-now'
import { roleAtLeast } from '../../routes'
import { useMe, useSession } from '../../session'
import { endsWithin, grantState } from './grants-logic'

const STATE_CLASS = { active: 'ok', scheduled: 'warn', revoked: 'danger', expired: '' } as const

/** Active and recent grants; reviewers revoke with a reason. Members see their own. */
export function GrantsScreen() {
  useTitle('Grants')
  const { api } = useSession()
  const me = useMe()
  const now = useNow()
  const queryClient = useQueryClient()
  const [person, setPerson] = useState('')
  const [kind, setKind] = useState('')
  const [resourceId, setResourceId] = useState('')
  const [activeOnly, setActiveOnly] = useState(true)
  const [within, setWithin] = useState('')
  const [revoking, setRevoking] = useState<Grant | null>(null)
  const filters = { petitioner: person.trim() || undefined, resourceKind: kind.trim() || undefined, resourceId: resourceId.trim() || undefined, active: activeOnly ? true : undefined }
  const grants = useQuery({ queryKey: ['grants', filters], queryFn: () => api.grant.list({ ...filters, limit: 200 }), refetchInterval: 5000 })
  const revoke = useMutation({
    mutationFn: ({ grant, reason }: { grant: Grant; reason: string }) => api.grant.revoke(grant.id, { reason }),
    onSuccess: () => {
      setRevoking(null)
      void queryClient.invalidateQueries({ queryKey: ['grants'] })
    },
  })
  const hours = within === '' ? null : Number(within)
  const rows = (grants.data?.grants ?? []).filter((grant) => endsWithin(grant, hours, now))
  const mayRevoke = roleAtLeast(me.role, 'reviewer')

  const columns: Array<Column<Grant>> = [
    { id: 'resource', header: 'Resource', cell: ({ row }) => <code>{resourceLabel(row.original.resource)}</code> },
    { id: 'person', header: 'Person', cell: ({ row }) => row.original.petitioner.email },
    {
      id: 'state',
      header: 'State',
      cell: ({ row }) => {
        const state = grantState(row.original, now)
        return <span className={`badge ${STATE_CLASS[state]}`}>{state}</span>
      },
    },
    {
      id: 'expires',
      header: 'Ends',
      cell: ({ row }) => (
        <>
          {new Date(row.original.expiresAt).toLocaleString()}
          {grantState(row.original, now) === 'active' ? <div className="muted">{countdown(row.original.expiresAt, now)}</div> : null}
        </>
      ),
    },
    { id: 'petition', header: 'Petition', cell: ({ row }) => <code>{row.original.petitionId}</code> },
    {
      id: 'actions',
      header: 'Actions',
      cell: ({ row }) =>
        mayRevoke && !row.original.revokedAt && grantState(row.original, now) !== 'expired' ? (
          <button type="button" className="danger" onClick={() => setRevoking(row.original)} aria-label={`Revoke ${resourceLabel(row.original.resource)} for ${row.original.petitioner.email}`}>
            Revoke
          </button>
        ) : row.original.revokedBy ? (
          <span className="muted">by {row.original.revokedBy.display ?? row.original.revokedBy.id}</span>
        ) : null,
    },
  ]
  return (
    <>
      <h1>Grants</h1>
      <div className="toolbar" role="search">
        {roleAtLeast(me.role, 'reviewer') ? (
          <label>
            Person (email)
            <input type="email" value={person} onChange={(e) => setPerson(e.target.value)} />
          </label>
        ) : null}
        <label>
          Resource kind
          <input value={kind} onChange={(e) => setKind(e.target.value)} placeholder="customer" />
        </label>
        <label>
          Resource id
          <input value={resourceId} onChange={(e) => setResourceId(e.target.value)} placeholder="c_42" />
        </label>
        <label>
          Ends within
          <select value={within} onChange={(e) => setWithin(e.target.value)}>
            <option value="">any time</option>
            <option value="1">1 hour</option>
            <option value="24">1 day</option>
            <option value="168">1 week</option>
          </select>
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={activeOnly} onChange={(e) => setActiveOnly(e.target.checked)} />
          Active only
        </label>
      </div>
      <ErrorMessage error={grants.error} />
      {grants.isLoading ? (
        <Loading what="grants" />
      ) : (
        <DataTable
          caption="Grants"
          columns={columns}
          data={rows}
          rowKey={(grant) => grant.id}
          empty={<EmptyState title={activeOnly ? 'No active grants match' : 'No grants match'}>{activeOnly ? 'Untick “Active only” to see ended grants, or clear the filters.' : 'Clear the filters; grants appear once requests are approved.'}</EmptyState>}
        />
      )}
      <ReasonDialog
        open={revoking !== null}
        onOpenChange={(open) => {
          if (!open) {
            setRevoking(null)
            revoke.reset()
          }
        }}
        title="Revoke grant"
        description={revoking ? `${resourceLabel(revoking.resource)} for ${revoking.petitioner.email} ends now. The reason goes into the audit log.` : ''}
        confirmLabel="Revoke now"
        pending={revoke.isPending}
        error={revoke.error}
        onConfirm={(reason) => revoking && revoke.mutate({ grant: revoking, reason })}
      />
    </>
  )
}
