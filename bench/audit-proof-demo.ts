/**
 * `npx tsx bench/audit-proof-demo.ts [events]` — the closing note of issue 12: a server (in this
 * process, on an in-memory PGlite, or on DATABASE_URL's PostgreSQL) signs a checkpoint, takes
 * 10,000 more audited events, signs another; then, with only the texts the server handed out and
 * its published verifier key, the SDK verifies offline that the later log extends the earlier one,
 * and that one event is in it. Prints every input and result.
 */
import { verifyConsistencyProof, verifyInclusionProof } from '@gatehouse/sdk'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { buildApp } from '../packages/server/src/app.js'
import { migrate } from '../packages/server/src/db/migrate.js'
import { openPgliteDb } from '../packages/server/src/db/pglite.js'
import { openPostgresDb } from '../packages/server/src/db/postgres.js'
import { createCheckpointSigner } from '../packages/server/src/modules/audit/audit-signer.js'
import { createLocalKms } from '../packages/server/src/modules/keys/index.js'

const events = Number(process.argv[2] ?? 10_000)
const db = process.env.DATABASE_URL ? openPostgresDb({ connectionString: process.env.DATABASE_URL, maxConnections: 10 }) : await openPgliteDb(undefined)
const built = await buildApp({ db, signer: createCheckpointSigner(generateKeyPairSync('ed25519').privateKey), kms: createLocalKms(randomBytes(32)), auditLog: { logName: 'gatehouse.example.com' } })
const { result } = await migrate(db, (conn) => built.services.spaces.bootstrapIfEmpty(conn))
const token = result!.adminToken.token
const space = result!.space.id
const get = async (url: string, method: 'GET' | 'POST' = 'GET') => {
  const response = await built.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } })
  if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode} ${response.body}`)
  return response
}

// --- the server: a checkpoint, 10,000 audited events through the real append, another checkpoint ---
built.auditSequencer.start()
const before = (await get(`/v1/spaces/${space}/audit/checkpoints`, 'POST')).json()
const audit = built.services.audit
const started = Date.now()
for (let i = 0; i < events; i += 100) {
  await Promise.all(
    Array.from({ length: Math.min(100, events - i) }, (_, j) =>
      db.transaction((tx) => audit.append(tx, space, { event: 'demo/access', actor: { kind: 'user', id: `usr_${(i + j) % 7}` }, resources: [{ kind: 'customer', id: `c_${i + j}` }], meta: { n: i + j } })),
    ),
  )
}
const after = (await get(`/v1/spaces/${space}/audit/checkpoints`, 'POST')).json()
const appendSeconds = (Date.now() - started) / 1000
const consistency = (await get(`/v1/spaces/${space}/audit/proof/consistency?from=${before.treeSize}&to=${after.treeSize}`)).json()
const one = (await get(`/v1/spaces/${space}/audit?event=demo/access&limit=1`)).json().events[0]
const inclusion = (await get(`/v1/spaces/${space}/audit/proof/inclusion?seq=${one.seq}&treeSize=${after.treeSize}`)).json()
const { verifierKey } = (await get('/v1/audit/signing-key')).json()
await built.app.close()
await db.close()

// --- a customer, offline, with only these texts and the published verifier key ---
const out = (line = '') => process.stdout.write(`${line}\n`)
out(`Store: ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}; ${events.toLocaleString('en')} events appended and integrated in ${appendSeconds.toFixed(1)} s`)
out(`Verifier key (GET /v1/audit/signing-key): ${verifierKey}`)
out()
out(`Checkpoint before (tree size ${before.treeSize}):`)
out(before.note)
out(`Checkpoint after (tree size ${after.treeSize}):`)
out(after.note)
out(`Consistency proof ${consistency.from} → ${consistency.to}: ${consistency.hashes.length} hashes`)
for (const hash of consistency.hashes) out(`  ${hash}`)
const extends_ = verifyConsistencyProof(before.note, after.note, consistency, verifierKey)
out(`verifyConsistencyProof(before, after, proof, key) = ${JSON.stringify(extends_)}`)
const swapped = verifyConsistencyProof(after.note, before.note, consistency, verifierKey)
out(`…with the checkpoints swapped = ${JSON.stringify(swapped)}`)
out()
out(`Event ${one.seq} (${one.event}, ${JSON.stringify(one.meta)}): inclusion proof of ${inclusion.hashes.length} hashes in tree ${inclusion.treeSize}`)
out(`verifyInclusionProof(event, proof, after, key) = ${JSON.stringify(verifyInclusionProof(one, inclusion, after.note, verifierKey))}`)
out(`…with the event's meta altered = ${JSON.stringify(verifyInclusionProof({ ...one, meta: { n: -1 } }, inclusion, after.note, verifierKey))}`)
if (!extends_.ok) process.exit(1)
