import { useQuery, useQueryClient } from '@tanstack/react-query'
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react'
import { sessionClient, type Api } from './api'
import { isSessionGone } from './lib/errors'

export type Role = 'admin' | 'reviewer' | 'member'

export interface Me {
  userId: string
  email: string
  role: Role
}

export interface SessionState {
  space: string
  setSpace(space: string): void
  api: Api
  /** undefined while asking the server; null when signed out. */
  me: Me | null | undefined
  /** After createSession: the server set the cookies; remember who we are (in that space). */
  signedIn(me: Me, space: string): void
  signOut(): Promise<void>
}

const SessionContext = createContext<SessionState | null>(null)
const SPACE_KEY = 'gatehouse.space'

export function SessionProvider({ children }: { children: ReactNode }) {
  const [space, setSpaceState] = useState(() => window.localStorage.getItem(SPACE_KEY) ?? 'default')
  const api = useMemo(() => sessionClient(space), [space])
  const queryClient = useQueryClient()
  // The cookie is HttpOnly: only the server can say whether it still works.
  const meQuery = useQuery({
    queryKey: ['session', space],
    queryFn: async (): Promise<Me | null> => {
      try {
        const me = await api.auth.whoAmI()
        if (me.kind !== 'user') return null
        return { userId: me.subjectId, email: me.display ?? me.subjectId, role: me.role }
      } catch (error) {
        if (isSessionGone(error)) return null
        throw error
      }
    },
    retry: false,
    staleTime: Infinity,
  })
  const setSpace = useCallback((next: string) => {
    window.localStorage.setItem(SPACE_KEY, next)
    setSpaceState(next)
  }, [])
  const signedIn = useCallback(
    (me: Me, target: string) => {
      // Another person's data must not survive a sign-in; the session query itself stays observed.
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== 'session' })
      queryClient.setQueryData(['session', target], me)
    },
    [queryClient],
  )
  const signOut = useCallback(async () => {
    try {
      await api.session.delete()
    } finally {
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== 'session' })
      queryClient.setQueryData(['session', space], null)
    }
  }, [api, queryClient, space])
  const value: SessionState = { space, setSpace, api, me: meQuery.isError ? null : meQuery.data, signedIn, signOut }
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}

export function useSession(): SessionState {
  const session = useContext(SessionContext)
  if (!session) throw new Error('useSession outside SessionProvider')
  return session
}

/** The signed-in person: only for screens rendered behind sign-in. */
export function useMe(): Me {
  const { me } = useSession()
  if (!me) throw new Error('useMe on a signed-out screen')
  return me
}

