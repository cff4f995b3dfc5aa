import { useMutation } from '@tanstack/react-query'
import { useState, type FormEvent } from 'react'
import { sessionClient, tokenClient } from '../../api'
import { ErrorMessage } from '../../components/feedback'
import { Link, navigate, useTitle } from '../../lib/router'
import { useSession } from '../../session'

/**
 * First start: the admin token the server printed creates the first admin user, then we sign in as
 * that user. The token lives in this component's state only, for these two calls; it is never stored.
 */
export function SetupScreen() {
  useTitle('Set up')
  const { space, setSpace, signedIn } = useSession()
  const [form, setForm] = useState({ space, token: '', email: '', name: '', password: '' })
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [key]: event.target.value })
  const setup = useMutation({
    mutationFn: async () => {
      const target = form.space.trim() || 'default'
      await tokenClient(target, form.token.trim()).user.create({ email: form.email, name: form.name, role: 'admin', password: form.password })
      const session = await sessionClient(target).session.create({ email: form.email, password: form.password })
      return { target, session }
    },
    onSuccess: ({ target, session }) => {
      setForm((f) => ({ ...f, token: '' }))
      if (target !== space) setSpace(target)
      signedIn({ userId: session.userId, email: session.email, role: session.role }, target)
      navigate('/', { replace: true })
    },
  })
  const submit = (event: FormEvent) => {
    event.preventDefault()
    setup.mutate()
  }
  return (
    <main className="centered">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="setup-title">
        <h1 id="setup-title">Create the first admin</h1>
        <p className="muted">
          Paste the admin token <code>npm start</code> printed on the first start. It is used once, to create your admin user, and is not kept.
        </p>
        <label>
          Space
          <input name="space" value={form.space} onChange={set('space')} required />
        </label>
        <label>
          Admin token
          <input name="token" type="password" value={form.token} onChange={set('token')} autoComplete="off" required placeholder="ghs_…" />
        </label>
        <label>
          Your name
          <input name="name" value={form.name} onChange={set('name')} autoComplete="name" required />
        </label>
        <label>
          Your email
          <input name="email" type="email" value={form.email} onChange={set('email')} autoComplete="username" required />
        </label>
        <label>
          Password (at least 12 characters)
          <input name="password" type="password" value={form.password} onChange={set('password')} autoComplete="new-password" required minLength={12} />
        </label>
        <ErrorMessage error={setup.error} />
        <button type="submit" disabled={setup.isPending}>
          {setup.isPending ? 'Creating…' : 'Create admin and sign in'}
        </button>
        <p className="muted">
          Already have an account? <Link to="/">Sign in</Link>
        </p>
      </form>
    </main>
  )
}
