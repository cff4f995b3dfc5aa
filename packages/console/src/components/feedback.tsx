import type { ReactNode } from 'react'
import { errorText } from '../lib/errors'

/** A failed call, with the server's message. role=alert so it is announced. */
export function ErrorMessage({ error, prefix }: { error: unknown; prefix?: string }) {
  if (!error) return null
  return (
    <p className="error" role="alert">
      {prefix ? `${prefix}: ` : ''}
      {errorText(error)}
    </p>
  )
}

/** What to do next when a list is empty. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-next">{children}</div> : null}
    </div>
  )
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  )
}
