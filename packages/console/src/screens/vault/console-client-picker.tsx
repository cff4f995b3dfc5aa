import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { ErrorMessage } from '../../components/feedback'
import { useSession } from '../../session'

/** Admins: choose the vault client the console reads through (its secret never leaves the server). */
export function ConsoleClientPicker({ current }: { current: string | null }) {
  const { api } = useSession()
  const queryClient = useQueryClient()
  const clients = useQuery({ queryKey: ['vault-clients'], queryFn: () => api.vault.client.list() })
  const [choice, setChoice] = useState(current ?? '')
  const designate = useMutation({
    mutationFn: () => api.consoleVault.designate(choice || null),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['console-vault'] }),
  })
  return (
    <form
      className="row"
      onSubmit={(event) => {
        event.preventDefault()
        designate.mutate()
      }}
    >
      <label>
        Console vault client
        <select value={choice} onChange={(e) => setChoice(e.target.value)}>
          <option value="">none</option>
          {clients.data?.clients.map((client) => (
            <option key={client.id} value={client.id}>
              {client.name} ({client.id})
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="secondary" disabled={designate.isPending}>
        Use for the console
      </button>
      <ErrorMessage error={clients.error ?? designate.error} />
    </form>
  )
}
