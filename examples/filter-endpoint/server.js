// Reference 004's filter endpoint, written with Fastify: the vault asks it which record ids the
// current user may read, write or delete, and it answers from the application's own permissions.
//
//   node examples/filter-endpoint/server.js          (listens on 127.0.0.1:3001, or PORT)
//
// Gatehouse calls loopback endpoints only when allowed: start it with GATEHOUSE_OUTBOUND_ALLOW=127.0.0.1/32.
import Fastify from 'fastify'

// The application's own (toy) permission table: who a session token belongs to, and what they may do.
const sessions = {
  'alice-session': { user: 'alice', read: ['first_employee_id', 'second_employee_id'], write: '*', delete: [] },
  'bob-session': { user: 'bob', read: ['third_employee_id'], write: [], delete: [] },
}

const app = Fastify({ logger: false })

function getCurrentUser(authorization) {
  const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1]
  return token ? sessions[token] : undefined
}

app.post('/filter-endpoint', async (req, reply) => {
  const currentUser = getCurrentUser(req.headers.authorization)
  if (!currentUser) return reply.code(401).send({ message: 'unknown session' })
  const action = req.body.action.replace('v1.restapi.', '')
  const asked = req.body.employee_id ?? []
  const allowed = currentUser[action]
  // "*" means all the records asked about; otherwise the subset this user may touch.
  return { employee_id: allowed === '*' ? '*' : asked.filter((id) => allowed.includes(id)) }
})

const port = Number(process.env.PORT ?? 3001)
await app.listen({ host: '127.0.0.1', port })
console.log(`filter endpoint on http://127.0.0.1:${port}/filter-endpoint`)
