import { useTitle } from '../../lib/router'

export function GrantsScreen() {
  useTitle('Grants')
  return <h1>Grants</h1>
}
