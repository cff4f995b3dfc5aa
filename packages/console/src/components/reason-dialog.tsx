import { Dialog } from '@base-ui/react/dialog'
import { useState, type FormEvent } from 'react'
import { ErrorMessage } from './feedback'

/**
 * A modal that asks for a reason before a consequential action (revoke). Base UI's Dialog gives the
 * focus trap, Escape to close, focus return and the ARIA wiring.
 */
export function ReasonDialog({ open, onOpenChange, title, description, confirmLabel, pending, error, onConfirm }: {
  open: boolean
  onOpenChange(open: boolean): void
  title: string
  description: string
  confirmLabel: string
  pending: boolean
  error: unknown
  onConfirm(reason: string): void
}) {
  const [reason, setReason] = useState('')
  const submit = (event: FormEvent) => {
    event.preventDefault()
    onConfirm(reason.trim())
  }
  return (
    <Dialog.Root open={open} onOpenChange={(next) => onOpenChange(next)}>
      <Dialog.Portal>
        <Dialog.Backdrop className="dialog-backdrop" />
        <Dialog.Popup className="dialog card">
          <form onSubmit={submit} className="stack">
            <Dialog.Title className="dialog-title">{title}</Dialog.Title>
            <Dialog.Description className="muted">{description}</Dialog.Description>
            <label>
              Reason
              <textarea name="reason" rows={3} value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={2000} />
            </label>
            <ErrorMessage error={error} />
            <div className="row">
              <button type="submit" className="danger" disabled={pending || reason.trim() === ''}>
                {pending ? 'Working…' : confirmLabel}
              </button>
              <Dialog.Close className="secondary-button">Cancel</Dialog.Close>
            </div>
          </form>
        </Dialog.Popup>
      </Dialog.Portal>
    </Dialog.Root>
  )
}
