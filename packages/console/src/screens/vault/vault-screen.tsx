import type { ConsoleFindResult, ConsoleVault } from '@gatehouse/sdk/client'
import { useQuery } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { DataTable, type Column } from '../../components/data-table'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { buildFilter, type Condition } from '../../logic/filter-builder'
import { countdown } from '../../logic/duration'
import { useTitle } from '../../lib/router'
import { useNow } from '../../lib/use-now'
import { roleAtLeast } from '../../routes'
import { useMe, useSession } from '../../session'
import { ConsoleClientPicker } from './console-client-picker'
import { FilterRows } from './filter-rows'

type Row = ConsoleFindResult['data'][number]
type Model = ConsoleVault['models'][number]

const show = (value: unknown) => (value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value))

/**
 * Records I can read right now: the data plane's find, field policy and grants join, run by the
 * server through the console's vault client as me. Every find is audited (vault/read), so this
 * screen finds on request, never on a timer.
 */
export function VaultScreen() {
  useTitle('Vault explorer')
  const { api } = useSession()
  const me = useMe()
  const status = useQuery({ queryKey: ['console-vault'], queryFn: () => api.consoleVault.get() })
  const [modelName, setModelName] = useState('')
  const models = status.data?.models ?? []
  const model = models.find((candidate) => candidate.name === modelName) ?? models[0]
  return (
    <>
      <h1>Vault explorer</h1>
      <ErrorMessage error={status.error} />
      {status.isLoading ? <Loading what="the vault" /> : null}
      {status.data && !status.data.client ? (
        <EmptyState title="The console has no vault client yet">
          {roleAtLeast(me.role, 'admin')
            ? 'Choose the vault client the console reads through: its access policy decides the models and fields shown here, and only models whose rows open by grants are shown.'
            : 'An admin designates the vault client the console reads through; ask them.'}
        </EmptyState>
      ) : null}
      {roleAtLeast(me.role, 'admin') && status.data ? <ConsoleClientPicker current={status.data.client?.id ?? null} /> : null}
      {status.data?.client && models.length === 0 ? (
        <EmptyState title="No models to show">The console's vault policy opens no model by grants (acl.source “grants”); an admin adds one.</EmptyState>
      ) : null}
      {model ? (
        <>
          <div className="toolbar">
            <label>
              Model
              <select value={model.name} onChange={(e) => setModelName(e.target.value)}>
                {models.map((candidate) => (
                  <option key={candidate.name} value={candidate.name}>
                    {candidate.name}
                  </option>
                ))}
              </select>
            </label>
            <p className="muted">
              Rows open by your grants on <code>{model.resourceKind}</code> (field <code>{model.grantField}</code>).
            </p>
          </div>
          <Explorer key={model.name} model={model} />
        </>
      ) : null}
    </>
  )
}

function Explorer({ model }: { model: Model }) {
  const { api } = useSession()
  const now = useNow()
  const [conditions, setConditions] = useState<Condition[]>([])
  const [asked, setAsked] = useState<{ filter: Record<string, unknown>; n: number } | null>(null)
  const [errors, setErrors] = useState<string[]>([])
  const found = useQuery({
    queryKey: ['console-find', model.name, asked],
    queryFn: () => api.consoleVault.find(model.name, { filter: asked!.filter, options: { limit: 100 } }),
    enabled: asked !== null,
    // Each find is an audited read: only when asked.
    refetchOnWindowFocus: false,
    staleTime: Infinity,
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    const built = buildFilter(conditions, model.fields)
    if (!built.ok) {
      setErrors(built.errors)
      return
    }
    setErrors([])
    setAsked((previous) => ({ filter: built.filter, n: (previous?.n ?? 0) + 1 }))
  }
  const columns: Array<Column<Row>> = [
    ...model.fields.map(
      (field): Column<Row> => ({
        id: field.name,
        header: () => (
          <>
            {field.name}
            {field.mask ? <span className="badge"> masked</span> : null}
          </>
        ),
        cell: ({ row }) => <span className={field.mask ? 'masked' : undefined}>{show(row.original.record[field.name])}</span>,
      }),
    ),
    {
      id: 'grant',
      header: 'Opened by',
      cell: ({ row }) =>
        row.original.grant ? (
          <>
            <code>{row.original.grant.grantId}</code>
            <div className="muted">
              {row.original.grant.resourceId} · {countdown(row.original.grant.expiresAt, now)}
            </div>
          </>
        ) : (
          '—'
        ),
    },
  ]
  const rows = found.data?.data ?? []
  return (
    <>
      <form onSubmit={submit} className="stack">
        <FilterRows fields={model.fields} conditions={conditions} onChange={setConditions} />
        {errors.map((error) => (
          <p key={error} className="error" role="alert">
            {error}
          </p>
        ))}
        <div>
          <button type="submit">Find</button>
        </div>
      </form>
      <ErrorMessage error={found.error} />
      <div className="section">
        {asked === null ? <p className="muted">Add conditions (or none, for every record you can read) and press Find. Each find is recorded in the audit log.</p> : null}
        {found.isFetching ? <Loading what="records" /> : null}
        {found.data ? (
          <>
            <p className="muted" role="status">
              {found.data.meta.total} record{found.data.meta.total === 1 ? '' : 's'} you can read now
            </p>
            <DataTable
              caption={`${model.name} records`}
              columns={columns}
              data={rows}
              rowKey={(row, index) => `${show(row.record[model.primaryKey])}#${index}`}
              empty={<EmptyState title="No records you can read">Rows open while you hold a grant on their {model.resourceKind}: ask for one on Request access.</EmptyState>}
            />
          </>
        ) : null}
      </div>
    </>
  )
}
