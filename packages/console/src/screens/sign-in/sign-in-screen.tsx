import { useMutation } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { sessionClient } from '../../api'
import { ErrorMessage } from '../../components/feedback'
import { Link, useTitle } from '../../lib/router'
import { useSession } from '../../session'
import { SsoButtons, usePasswordSignIn } from './sso-buttons'

export function SignInScreen() {
  useTitle('Sign in')
  const { space, setSpace, signedIn } = useSession()
  const [spaceInput, setSpaceInput] = useState(space)
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const signIn = useMutation({
    mutationFn: async () => {
      const target = spaceInput.trim() || 'default'
      const session = await sessionClient(target).session.create({ email, password })
      return { target, session }
    },
    onSuccess: ({ target, session }) => {
      if (target !== space) setSpace(target)
      signedIn({ userId: session.userId, email: session.email, role: session.role }, target)
    },
  })
  const target = spaceInput.trim() || 'default'
  const passwordSignIn = usePasswordSignIn(target)
  const submit = (event: FormEvent) => {
    event.preventDefault()
    signIn.mutate()
  }
  return (
    <main className="centered">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Gatehouse</h1>
        <label>
          Space
          <input name="space" value={spaceInput} onChange={(e) => setSpaceInput(e.target.value)} autoComplete="organization" required />
        </label>
        {passwordSignIn ? (
          <>
            <label>
              Email
              <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="username" required autoFocus />
            </label>
            <label>
              Password
              <input name="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />
            </label>
            <ErrorMessage error={signIn.error} />
            <button type="submit" disabled={signIn.isPending}>
              {signIn.isPending ? 'Signing in…' : 'Sign in'}
            </button>
          </>
        ) : (
          <p className="muted">Password sign-in is turned off in this space: use single sign-on.</p>
        )}
        <SsoButtons space={target} onChoose={() => target !== space && setSpace(target)} />
        <p className="muted">
          First start? <Link to="/setup">Create the first admin</Link> with the admin token the server printed.
        </p>
      </form>
    </main>
  )
}
