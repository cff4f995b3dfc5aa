import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyExport } from '@gatehouse/sdk'
import { buildApp, type BuiltApp } from '../src/app.js'
import { loadMigrations, migrate } from '../src/db/migrate.js'
import { GENESIS_HASH, hashEvent } from '../src/modules/audit/audit-chain.js'
import type { AuditEventBody, SignedCheckpoint } from '../src/modules/audit/audit-types.js'
import { openTestDb, STORE, testKms, testSigner, type TestDb } from './harness.js'

// A store written by the hash-chain version (migrations 0001–0006, events with prevHash/hash and a
// head row lock) migrated to the verifiable log (0007): its events become the tree's first leaves,
// the old chain and its JSON checkpoints still verify, and new events follow.

let testDb: TestDb
let built: BuiltApp
const signer = testSigner()
const space = 'legacy'
const chained: AuditEventBody[] = []
let legacyCheckpoint: SignedCheckpoint

beforeAll(async () => {
  testDb = await openTestDb()
  const all = await loadMigrations()
  await migrate(testDb.db, async () => null, all.slice(0, 6))
  const { db } = testDb
  await db.query(`INSERT INTO spaces (id, display_name) VALUES ($1, 'Legacy')`, [space])
  let prevHash = GENESIS_HASH
  for (let seq = 1; seq <= 37; seq++) {
    const body: AuditEventBody = {
      id: `evt_old${seq}`,
      space,
      seq,
      time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
      actor: { kind: 'system', id: 'gatehouse' },
      event: 'test/old',
      resources: [{ kind: 'customer', id: `c_${seq}` }],
      meta: { seq, note: 'ünïcode ✓' },
      prevHash,
    }
    chained.push(body)
    prevHash = hashEvent(body)
    await db.query(
      `INSERT INTO audit_events (space_id, seq, id, time, actor, event, resources, meta, prev_hash, hash) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb, $8::jsonb, $9, $10)`,
      [space, seq, body.id, body.time, JSON.stringify(body.actor), body.event, JSON.stringify(body.resources), JSON.stringify(body.meta), body.prevHash, prevHash],
    )
  }
  await db.query('INSERT INTO audit_heads (space_id, seq, hash) VALUES ($1, 37, $2)', [space, prevHash])
  legacyCheckpoint = signer.sign({ space, seq: 37, hash: prevHash, time: new Date().toISOString() })
  await db.query('INSERT INTO audit_signing_keys (key_id, algorithm, public_key_pem) VALUES ($1, $2, $3)', [signer.keyId, 'Ed25519', signer.publicKeyPem])

  built = await buildApp({ db, signer, kms: testKms(), clock: () => new Date() })
  const { applied } = await migrate(db, async () => null)
  expect(applied).toContain(7)
})
afterAll(async () => {
  await built.app.close()
  await testDb.drop()
})

describe(`migrating the hash chain into the tree, on ${STORE}`, () => {
  it('hashes the old events in as the first leaves; the old chain and its checkpoints still verify; new events follow', async () => {
    const audit = built.services.audit
    expect((await testDb.db.query<{ tree_size: number }>('SELECT tree_size FROM audit_heads WHERE space_id = $1', [space])).rows[0]!.tree_size).toBe(0)
    await testDb.db.transaction((tx) => audit.append(tx, space, { event: 'test/new', actor: { kind: 'system', id: 'gatehouse' } }))
    expect(await audit.integrateNow(space)).toBe(38)

    const report = await audit.verify(space, [legacyCheckpoint], [])
    expect(report).toMatchObject({ ok: true, checkedEvents: 38, firstBroken: null, checkpoints: [{ seq: 37, ok: true }] })

    const checkpoint = await audit.checkpoint(space)
    expect(checkpoint.treeSize).toBe(38)
    const events = []
    for await (const page of audit.export(space, {})) events.push(...page)
    expect(events[0]).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, hash: hashEvent(chained[0]!) })
    expect(events[37]!.hash).toBeUndefined()
    const offline = await verifyExport(JSON.parse(JSON.stringify(events)), [checkpoint.note], audit.signingKey().verifierKey)
    expect(offline).toMatchObject({ ok: true, events: 38, firstBad: null })

    // The old chain is still checked: a rewritten link in it is caught even with its leaf rehashed.
    await testDb.db.query(`UPDATE audit_events SET prev_hash = $2 WHERE space_id = $1 AND seq = 10`, [space, 'c'.repeat(64)])
    const broken = await audit.verify(space, [legacyCheckpoint], [])
    expect(broken.firstBroken).toMatchObject({ seq: 10 })
    expect(broken.firstBroken!.reason).toContain('prevHash')
    expect(broken.checkpoints[0]!.ok).toBe(false)
  })
})
