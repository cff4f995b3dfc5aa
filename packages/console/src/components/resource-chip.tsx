import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session'

/** kind:id with its name and labels, read once per resource and cached. */
export function ResourceChip({ kind, id }: { kind: string; id: string }) {
  const { api } = useSession()
  const resource = useQuery({ queryKey: ['resource', kind, id], queryFn: () => api.resource.get({ kind, id }), staleTime: 60_000, retry: false })
  return (
    <span className="resource-chip">
      <code>
        {kind}:{id}
      </code>
      {resource.data?.displayName ? <> {resource.data.displayName}</> : null}
      {Object.entries(resource.data?.labels ?? {}).map(([name, value]) => (
        <span key={name} className="badge">
          {name}:{value}
        </span>
      ))}
    </span>
  )
}
