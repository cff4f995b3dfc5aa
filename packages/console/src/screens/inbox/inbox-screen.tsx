import type { Petition } from '@gatehouse/sdk/client'
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useEffect, useState, type FormEvent } from 'react'
import { EmptyState, ErrorMessage, Loading } from '../../components/feedback'
import { ResourceChip } from '../../components/resource-chip'
import { chooseDuration, formatDuration } from '../../logic/duration'
import { useTitle } from '../../lib/router'
import { useMe, useSession } from '../../session'
import { decidable, progress } from './inbox-logic'

const typing = (target: EventTarget | null) => target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))

/** A reviewer's open petitions, newest first; polled so other reviewers' decisions show without a reload. */
export function InboxScreen() {
  useTitle('Inbox')
  const { api } = useSession()
  const me = useMe()
  const open = useQuery({ queryKey: ['inbox'], queryFn: () => api.petition.list({ state: 'open', limit: 100 }), refetchInterval: 3000 })
  const items = decidable(open.data?.petitions ?? [], me.userId)
  const [current, setCurrent] = useState(0)
  const index = Math.min(current, Math.max(items.length - 1, 0))

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return
      if (event.key === 'j' || event.key === 'n') setCurrent((i) => Math.min(i + 1, items.length - 1))
      else if (event.key === 'k' || event.key === 'p') setCurrent((i) => Math.max(i - 1, 0))
      else if (event.key === 'a' || event.key === 'd') {
        const target = document.getElementById(`${event.key === 'a' ? 'approve' : 'deny'}-${items[index]?.id}`)
        if (target) {
          event.preventDefault()
          target.focus()
        }
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [items, index])

  return (
    <>
      <h1>Inbox</h1>
      <p className="muted">
        Keys: <kbd className="shortcut">j</kbd>/<kbd className="shortcut">k</kbd> next/previous, <kbd className="shortcut">a</kbd> approve, <kbd className="shortcut">d</kbd> deny (focuses the
        comment; Enter decides). Updates every few seconds.
      </p>
      <ErrorMessage error={open.error} />
      {open.isLoading ? <Loading what="open requests" /> : null}
      {open.data && items.length === 0 ? <EmptyState title="Nothing to decide">New requests you may review appear here by themselves; no need to reload.</EmptyState> : null}
      <ul className="list" aria-label="Open requests">
        {items.map((petition, i) => (
          <PetitionCard key={petition.id} petition={petition} current={i === index} onFocus={() => setCurrent(i)} />
        ))}
      </ul>
    </>
  )
}

function PetitionCard({ petition, current, onFocus }: { petition: Petition; current: boolean; onFocus(): void }) {
  const { api } = useSession()
  const queryClient = useQueryClient()
  const max = petition.rule.maxDurationSeconds
  const asked = petition.durationSeconds ?? 3600
  const [duration, setDuration] = useState(formatDuration(max ? Math.min(asked, max) : asked).replace(/ /g, ''))
  const [approveComment, setApproveComment] = useState('')
  const [denyComment, setDenyComment] = useState('')
  const choice = chooseDuration(duration, max)
  const review = useMutation({
    mutationFn: (input: { decision: 'approve' | 'deny' }) => {
      if (input.decision === 'approve') {
        if (!choice.ok) throw new Error(choice.error)
        return api.petition.review({ id: petition.id, decision: 'approve', durationSeconds: choice.seconds, ...(approveComment ? { comment: approveComment } : {}) })
      }
      return api.petition.review({ id: petition.id, decision: 'deny', ...(denyComment ? { comment: denyComment } : {}) })
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['inbox'] }),
  })
  const decide = (decision: 'approve' | 'deny') => (event: FormEvent) => {
    event.preventDefault()
    review.mutate({ decision })
  }
  const petitioner = petition.petitioners.map((p) => p.email).join(', ')
  return (
    <li className={`card petition${current ? ' current' : ''}`} onFocus={onFocus} data-petition={petition.id} aria-current={current ? 'true' : undefined}>
      <h3>
        {petitioner} asks for{' '}
        {petition.resources.map((resource) => (
          <ResourceChip key={`${resource.kind}:${resource.id}`} kind={resource.kind} id={resource.id} />
        ))}
      </h3>
      <dl className="kv">
        <dt>Reason</dt>
        <dd>{petition.reason || '—'}</dd>
        <dt>Duration</dt>
        <dd>
          {petition.durationSeconds ? formatDuration(petition.durationSeconds) : 'not given'}
          {max ? ` (policy maximum ${formatDuration(max)})` : ''}
          {petition.startsAt ? `, from ${new Date(petition.startsAt).toLocaleString()}` : ''}
        </dd>
        <dt>Policy</dt>
        <dd>{petition.rule.policyName ?? 'default review'}</dd>
        <dt>Progress</dt>
        <dd>{progress(petition)}</dd>
        <dt>Asked</dt>
        <dd>{new Date(petition.createdAt).toLocaleString()}</dd>
      </dl>
      <div className="split">
        <form className="stack" onSubmit={decide('approve')} aria-label={`Approve ${petitioner}`}>
          <div className="row">
            <label>
              Approve for
              <input value={duration} onChange={(e) => setDuration(e.target.value)} size={6} />
            </label>
            <label>
              Comment
              <input id={`approve-${petition.id}`} value={approveComment} onChange={(e) => setApproveComment(e.target.value)} />
            </label>
          </div>
          {!choice.ok ? <p className="error">{choice.error}</p> : choice.capped ? <p className="muted">Capped at the policy maximum, {formatDuration(choice.seconds)}.</p> : null}
          <div>
            <button type="submit" disabled={review.isPending || !choice.ok}>
              Approve
            </button>
          </div>
        </form>
        <form className="stack" onSubmit={decide('deny')} aria-label={`Deny ${petitioner}`}>
          <label>
            Why deny
            <input id={`deny-${petition.id}`} value={denyComment} onChange={(e) => setDenyComment(e.target.value)} />
          </label>
          <div>
            <button type="submit" className="danger" disabled={review.isPending}>
              Deny
            </button>
          </div>
        </form>
      </div>
      <ErrorMessage error={review.error} />
    </li>
  )
}
