import { approval, getErrorKind } from '@gatehouse/sdk'
import { getCurrentUser } from './auth'

async function requestCustomerAccess(ctx, customerId) {
  try {
    const user = await getCurrentUser(ctx)

    await approval({
      petitioners: [{ kind: 'user', id: user.id, email: user.email }],
      resources: [{ kind: 'customer', id: customerId }]
    })

    return { ok: true }
  } catch (err) {
    switch (getErrorKind(err)) {
      case 'waiting':
        // Once granted, it will auto-approve next time
        return { ok: false, status: 'waiting' }
      case 'denied':
        // Denied by reviewer or policy
        return { ok: false, status: 'denied' }
      default:
        console.error(err)
        return { ok: false, status: 'unknown' }
    }
  }
}

// Not in the reference: what the admin portal's "Request Access" button would do.
const customerId = process.argv[2] ?? 'c_1'
console.log(JSON.stringify(await requestCustomerAccess({ headers: {} }, customerId)))
