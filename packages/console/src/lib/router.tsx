import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react'

/**
 * A small router over the History API: the console's paths live under /console (the server answers
 * index.html for any of them), and a screen reads its own query string.
 */
export const BASE = '/console'

const subscribe = (notify: () => void) => {
  window.addEventListener('popstate', notify)
  return () => window.removeEventListener('popstate', notify)
}
const snapshot = () => window.location.pathname + window.location.search

/** The path below /console ("/inbox") and its query. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const current = useSyncExternalStore(subscribe, snapshot)
  const url = new URL(current, window.location.origin)
  const path = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) || '/' : url.pathname
  return { path: path.length > 1 ? path.replace(/\/$/, '') : path, query: url.searchParams }
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = `${BASE}${to}`
  if (options.replace) window.history.replaceState(null, '', url)
  else window.history.pushState(null, '', url)
  window.dispatchEvent(new PopStateEvent('popstate'))
}

export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event)
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    navigate(to)
  }
  return <a href={`${BASE}${to}`} onClick={handle} {...rest} />
}

/** Sets document.title for the screen, so each page has a name (screen readers announce it). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Gatehouse`
  }, [title])
}
