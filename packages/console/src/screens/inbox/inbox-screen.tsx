import { useTitle } from '../../lib/router'

export function InboxScreen() {
  useTitle('Inbox')
  return <h1>Inbox</h1>
}
