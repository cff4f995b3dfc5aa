import { useTitle } from '../../lib/router'

export function RequestScreen() {
  useTitle('Request')
  return <h1>Request</h1>
}
