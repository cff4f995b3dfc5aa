import { useTitle } from '../../lib/router'
import { MyGrants } from './my-grants'
import { MyPetitions } from './my-petitions'
import { RequestForm } from './request-form'

/** A member asks for access, follows their petitions and keeps an eye on their grants. */
export function RequestScreen() {
  useTitle('Request access')
  return (
    <>
      <h1>Request access</h1>
      <RequestForm />
      <MyPetitions />
      <MyGrants />
    </>
  )
}
