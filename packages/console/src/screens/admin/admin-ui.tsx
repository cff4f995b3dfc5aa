import { useId, useState, type ReactNode } from 'react'
import { useSession, type Role } from '../../session'

/**
 * What someone without the role sees at an address they typed or bookmarked (a member at an admin
 * screen): a clear refusal instead of a blank page. The server refuses the calls anyway; this
 * only says so up front.
 */
export function RoleRequired({ title, role }: { title: string; role: Role }) {
  const { me } = useSession()
  const who = role === 'admin' ? 'Admins only' : 'Reviewers and admins only'
  return (
    <section aria-labelledby="role-required-title">
      <h1 id="role-required-title">{title}</h1>
      <div className="empty" role="alert">
        <p className="empty-title">{who}</p>
        <p className="empty-next">
          This screen is for {role === 'admin' ? 'admins' : 'reviewers and admins'}. You are signed in as {me?.email ?? 'someone'} with the role{' '}
          {me?.role ?? 'unknown'}; ask an admin of this space if you need something here.
        </p>
      </div>
    </section>
  )
}

/** The screen for admins, the refusal for anyone else. */
export function AdminScreen({ title, children }: { title: string; children: ReactNode }) {
  const { me } = useSession()
  if (me?.role !== 'admin') return <RoleRequired title={title} role="admin" />
  return <>{children}</>
}

/**
 * A secret the server returns once (a token, a webhook signing secret): shown with a copy button
 * and a warning, until dismissed. Nothing keeps it after that, not even this page.
 */
export function OnceSecret({ label, secret, onDone }: { label: string; secret: string; onDone(): void }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null)
  const id = useId()
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret)
      setCopied('yes')
    } catch {
      setCopied('no')
    }
  }
  return (
    <div className="card secret" role="region" aria-labelledby={`${id}-title`}>
      <p id={`${id}-title`} className="empty-title">
        {label}
      </p>
      <p className="warning" id={`${id}-warning`}>
        Copy it now: it is shown only this once. Gatehouse stores only a hash and cannot show it again.
      </p>
      <div className="row">
        <input className="secret-value" readOnly value={secret} aria-label={label} aria-describedby={`${id}-warning`} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={copy}>
          Copy
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          I have stored it
        </button>
      </div>
      <p role="status" className="muted">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'The browser refused the clipboard: select the text and copy it by hand.' : ''}
      </p>
    </div>
  )
}

/**
 * A destructive action asks once more, in place (no window.confirm: it is not styled, and a
 * keyboard user lands back where they were).
 */
export function ConfirmButton({ label, confirmLabel, question, onConfirm, disabled }: { label: string; confirmLabel: string; question: string; onConfirm(): void; disabled?: boolean }) {
  const [asking, setAsking] = useState(false)
  if (!asking) {
    return (
      <button type="button" className="secondary" disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    )
  }
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span className="muted">{question}</span>{' '}
      <button
        type="button"
        className="danger"
        autoFocus
        onClick={() => {
          setAsking(false)
          onConfirm()
        }}
      >
        {confirmLabel}
      </button>{' '}
      <button type="button" className="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  )
}

export interface InputA11y {
  id: string
  'aria-invalid'?: true
  'aria-describedby'?: string
}

/**
 * One labelled input with its help and the server's messages for it, tied to it by
 * aria-describedby (outside the label, so the input's name stays just the label).
 */
export function Field({ label, messages, help, className, children }: { label: string; messages?: string[]; help?: string; className?: string; children(input: InputA11y): ReactNode }) {
  const id = useId()
  const invalid = Boolean(messages?.length)
  const describedBy = [invalid ? `${id}-error` : '', help ? `${id}-help` : ''].filter(Boolean).join(' ')
  return (
    <div className={className ? `field ${className}` : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children({ id, ...(invalid ? { 'aria-invalid': true as const } : {}), ...(describedBy ? { 'aria-describedby': describedBy } : {}) })}
      {help ? (
        <span className="muted help" id={`${id}-help`}>
          {help}
        </span>
      ) : null}
      {invalid ? (
        <span className="field-error" id={`${id}-error`}>
          {messages!.join('; ')}
        </span>
      ) : null}
    </div>
  )
}

/** The server's messages for a group of inputs (a fieldset), tied to it by aria-describedby. */
export function FieldErrors({ id, messages }: { id: string; messages: string[] | undefined }) {
  if (!messages?.length) return null
  return (
    <span className="field-error" id={id}>
      {messages.join('; ')}
    </span>
  )
}

/** aria-invalid and aria-describedby for a group with server messages. */
export const fieldProps = (id: string, messages: string[] | undefined) => (messages?.length ? { 'aria-invalid': true as const, 'aria-describedby': id } : {})

/** `2026-12-01 10:04` in the reader's time zone: lists need minutes, not milliseconds. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—'
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}
