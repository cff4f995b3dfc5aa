import { useEffect, useState } from 'react'
import { ErrorMessage } from './components/feedback'
import { Link, navigate, useLocation } from './lib/router'
import { homeFor, roleAtLeast, routes } from './routes'
import { SignInScreen } from './screens/sign-in/sign-in-screen'
import { SetupScreen } from './screens/setup/setup-screen'
import { useSession } from './session'
import { RoleRequired } from './screens/admin/admin-ui'

export function App() {
  const { me } = useSession()
  const { path } = useLocation()

  if (path === '/setup') return <SetupScreen />
  if (me === undefined) {
    return (
      <main className="centered" aria-busy="true">
        <p role="status">Loading…</p>
      </main>
    )
  }
  if (me === null) return <SignInScreen />
  return <Shell />
}

function Shell() {
  const { me, signOut, space } = useSession()
  const { path } = useLocation()
  const [menuOpen, setMenuOpen] = useState(false)
  const [signOutError, setSignOutError] = useState<unknown>(null)
  const role = me!.role
  const visible = routes.filter((route) => roleAtLeast(role, route.role))
  const current = routes.find((route) => route.path === path)

  useEffect(() => {
    if (path === '/' || path === '/sign-in' || !current) navigate(homeFor(role), { replace: true })
  }, [path, current, role])
  useEffect(() => setMenuOpen(false), [path])

  const Screen = current && roleAtLeast(role, current.role) ? current.screen : null
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button type="button" className="menu-button" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen((open) => !open)}>
          Menu
        </button>
        <span className="brand">Gatehouse</span>
        <span className="who" title={`space ${space}`}>
          {me!.email} · {role}
        </span>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setSignOutError(null)
            signOut().catch(setSignOutError)
          }}
        >
          Sign out
        </button>
      </header>
      <nav id="nav" aria-label="Console" className={menuOpen ? 'nav open' : 'nav'}>
        <ul>
          {visible.map((route) => (
            <li key={route.path}>
              <Link to={route.path} aria-current={route.path === path ? 'page' : undefined} onClick={() => setMenuOpen(false)}>
                {route.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <ErrorMessage error={signOutError} prefix="Sign out failed" />
        {Screen ? <Screen /> : current ? <RoleRequired title={current.label} role={current.role} /> : null}
      </main>
    </div>
  )
}
