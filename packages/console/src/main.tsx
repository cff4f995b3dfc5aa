import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App } from './app'
import { isSessionGone } from './lib/errors'
import { SessionProvider } from './session'
import './styles.css'

// A 401 anywhere means the session ended (signed out elsewhere, revoked, expired): every session
// query becomes null and the shell shows sign-in again.
const forgetSessionOn401 = (error: unknown) => {
  if (isSessionGone(error)) queryClient.setQueriesData({ queryKey: ['session'] }, null)
}
const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError: forgetSessionOn401 }),
  mutationCache: new MutationCache({ onError: forgetSessionOn401 }),
  defaultOptions: { queries: { retry: (count, error) => !isSessionGone(error) && count < 1, refetchOnWindowFocus: true } },
})

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <SessionProvider>
        <App />
      </SessionProvider>
    </QueryClientProvider>
  </StrictMode>,
)
