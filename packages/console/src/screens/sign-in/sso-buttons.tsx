import { useQuery } from '@tanstack/react-query'
import { sessionClient } from '../../api'

/**
 * "Sign in with …" for each provider the space enabled (a public listing: no secrets). Each is a
 * plain link to the server's start route: the server runs the OIDC flow and comes back to the console
 * with the same session cookie a password sign-in sets.
 */
export function SsoButtons({ space, onChoose }: { space: string; onChoose: () => void }) {
  const client = sessionClient(space)
  const options = useQuery({ queryKey: ['sign-in-options', space], queryFn: () => client.sso.signInOptions(), retry: false, staleTime: 30_000 })
  const providers = options.data?.providers ?? []
  if (providers.length === 0) return null
  return (
    <div className="sso-slot" data-slot="sso">
      <p className="muted">or</p>
      {providers.map((provider) => (
        <a key={provider.id} className="button secondary" href={client.sso.startUrl(provider.id, { returnTo: '/console/' })} onClick={onChoose}>
          Sign in with {provider.displayName}
        </a>
      ))}
    </div>
  )
}

/** Whether the space still takes passwords (an admin may turn them off once SSO works). */
export function usePasswordSignIn(space: string): boolean {
  const options = useQuery({ queryKey: ['sign-in-options', space], queryFn: () => sessionClient(space).sso.signInOptions(), retry: false, staleTime: 30_000 })
  return options.data?.passwordSignIn ?? true
}
