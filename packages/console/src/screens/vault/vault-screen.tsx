import { useTitle } from '../../lib/router'

export function VaultScreen() {
  useTitle('Vault')
  return <h1>Vault</h1>
}
