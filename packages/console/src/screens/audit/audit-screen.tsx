import { useTitle } from '../../lib/router'

export function AuditScreen() {
  useTitle('Audit')
  return <h1>Audit</h1>
}
