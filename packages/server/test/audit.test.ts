import { appendLeaves, auditLeafHash, foldRange } from '@gatehouse/sdk'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHarness, STORE, type Harness } from './harness.js'

// The audit log as a verifiable log (issue 12). Was: one hash chain with a per-space head lock,
// whose tests asserted seq/prevHash at insert time; events now queue and a sequencer integrates
// them, so these tests integrate (`integrateNow`, what a read does) before they look or tamper.

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

let spaces = 0
/** A space of its own with `n` user-creation events on top of its creation events, all integrated. */
async function spaceWithEvents(n: number): Promise<{ space: string; token: string }> {
  const space = `audit-${(spaces += 1)}`
  const token = await h.createSpace(space)
  for (let i = 0; i < n; i += 1) await h.createUser('member', { space, adminToken: token })
  await h.built.services.audit.integrateNow(space)
  return { space, token }
}

const verify = async (space: string, token: string, notes?: string[]) =>
  notes
    ? (await h.request('POST', `/v1/spaces/${space}/audit:verify`, { token, body: { notes } })).body
    : (await h.request('GET', `/v1/spaces/${space}/audit:verify`, { token })).body

const checkpoint = async (space: string, token: string) => {
  const response = await h.request('POST', `/v1/spaces/${space}/audit/checkpoints`, { token })
  expect(response.status).toBe(201)
  return response.body as { treeSize: number; note: string; rootHash: string }
}

/**
 * What a database admin could do to hide a change: rewrite every leaf hash from the events' content,
 * rebuild the stored tree and its head, and drop the stored checkpoints. Only a checkpoint kept
 * outside the database can catch it.
 */
async function rebuildTree(space: string) {
  const { rows } = await h.db.query<Record<string, any>>('SELECT * FROM audit_events WHERE space_id = $1 ORDER BY seq', [space])
  const leaves = rows.map((row) =>
    auditLeafHash({ id: row.id, space, time: row.time.toISOString(), actor: row.actor, event: row.event, resources: row.resources, meta: row.meta }),
  )
  const { frontier, completed } = appendLeaves(0, [], leaves)
  await h.db.query('DELETE FROM audit_tree WHERE space_id = $1', [space])
  await h.db.query('DELETE FROM audit_log_checkpoints WHERE space_id = $1', [space])
  for (const [i, row] of rows.entries()) await h.db.query('UPDATE audit_events SET leaf_hash = $3 WHERE space_id = $1 AND seq = $2', [space, row.seq, Buffer.from(leaves[i]!).toString('hex')])
  for (const node of completed) await h.db.query('INSERT INTO audit_tree (space_id, level, idx, hash) VALUES ($1, $2, $3, $4)', [space, node.level, node.index, Buffer.from(node.hash).toString('hex')])
  const hex = frontier.map((hash) => Buffer.from(hash).toString('hex')).join('')
  await h.db.query('UPDATE audit_heads SET seq = $2, tree_size = $2, frontier = $3, checkpoint_size = 0, checkpoint_time = NULL WHERE space_id = $1', [space, rows.length, hex])
  return foldRange(frontier)
}

describe('the log', () => {
  it('gives 50 concurrent writers one gapless sequence, every event once, with no lock on the request path', async () => {
    const { space, token } = await spaceWithEvents(0)
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => h.request('POST', `/v1/spaces/${space}/groups`, { token, body: { name: `group-${i}` } })),
    )
    expect(results.map((result) => result.status)).toEqual(Array(50).fill(201))
    await h.built.services.audit.integrateNow(space)
    const report = await verify(space, token)
    expect(report).toMatchObject({ ok: true, firstBroken: null, pending: 0 })
    const { rows } = await h.db.query<{ seq: number; id: string }>('SELECT seq, id FROM audit_events WHERE space_id = $1 ORDER BY seq', [space])
    expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1))
    expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length)
    expect(report.checkedEvents).toBe(rows.length)
    const groupEvents = await h.request('GET', `/v1/spaces/${space}/audit?event=group/create&limit=500`, { token })
    expect(groupEvents.body.events).toHaveLength(50)
  })

  it('a change that fails leaves no event and no gap', async () => {
    const { space, token } = await spaceWithEvents(1)
    const before = (await verify(space, token)).head.seq
    const user = await h.request('GET', `/v1/spaces/${space}/users`, { token })
    const duplicate = await h.request('POST', `/v1/spaces/${space}/users`, {
      token,
      body: { email: user.body.users[0].email, name: 'again', role: 'member' },
    })
    expect(duplicate.status).toBe(409)
    const missing = await h.request('DELETE', `/v1/spaces/${space}/groups/grp_nothere`, { token })
    expect(missing.status).toBe(404)
    await h.built.services.audit.integrateNow(space)
    expect((await verify(space, token)).head.seq).toBe(before)
    await h.request('POST', `/v1/spaces/${space}/groups`, { token, body: { name: 'after' } })
    await h.built.services.audit.integrateNow(space)
    const report = await verify(space, token)
    expect(report).toMatchObject({ ok: true, head: { seq: before + 1 } })
  })

  it('shows an event committed but not yet integrated as pending: verify counts it apart, never as a failure', async () => {
    const { space, token } = await spaceWithEvents(1)
    const audit = h.built.services.audit
    await h.db.transaction((tx) => audit.append(tx, space, { event: 'test/queued', actor: { kind: 'system', id: 'test' } }))
    const report = await verify(space, token)
    expect(report).toMatchObject({ ok: true, pending: 1, firstBroken: null })
    const size = report.head.seq
    await audit.integrateNow(space)
    expect(await verify(space, token)).toMatchObject({ ok: true, pending: 0, head: { seq: size + 1 } })
  })

  it.runIf(STORE === 'postgres')('lists events another node is integrating as pending, then once in the log', async () => {
    const { space, token } = await spaceWithEvents(1)
    await h.db.transaction((tx) => h.built.services.audit.append(tx, space, { event: 'test/queued', actor: { kind: 'system', id: 'test' } }))
    // Another node's sequencer holds the space: this node's read does not wait for it.
    const node = new pg.Client({ connectionString: h.testDb.url! })
    await node.connect()
    await node.query('BEGIN')
    await node.query('SELECT 1 FROM audit_heads WHERE space_id = $1 FOR NO KEY UPDATE', [space])
    const other = await h.request('GET', `/v1/spaces/${space}/audit?limit=500`, { token })
    await node.query('COMMIT')
    await node.end()
    expect(other.body.pending).toMatchObject([{ event: 'test/queued', pending: true }])
    expect(other.body.pending[0].seq).toBeUndefined()
    expect(other.body.events.some((event: { event: string }) => event.event === 'test/queued')).toBe(false)
    const after = await h.request('GET', `/v1/spaces/${space}/audit?limit=500`, { token })
    expect(after.body.pending).toEqual([])
    expect(after.body.events.filter((event: { event: string }) => event.event === 'test/queued')).toHaveLength(1)
  })
})

describe('tampering', () => {
  it('an edited event is reported at that event', async () => {
    const { space, token } = await spaceWithEvents(4)
    await h.db.query(`UPDATE audit_events SET meta = '{"email":"someone-else@example.com"}' WHERE space_id = $1 AND seq = 5`, [space])
    const report = await verify(space, token)
    expect(report.ok).toBe(false)
    expect(report.firstBroken).toMatchObject({ seq: 5 })
    expect(report.firstBroken.reason).toContain('altered')
  })

  it('an edited actor or time is reported too', async () => {
    const { space, token } = await spaceWithEvents(3)
    await h.db.query(`UPDATE audit_events SET time = time + interval '1 millisecond' WHERE space_id = $1 AND seq = 4`, [space])
    expect((await verify(space, token)).firstBroken).toMatchObject({ seq: 4 })
    await h.db.query(`UPDATE audit_events SET actor = '{"kind":"system","id":"x"}' WHERE space_id = $1 AND seq = 2`, [space])
    expect((await verify(space, token)).firstBroken).toMatchObject({ seq: 2 })
  })

  it('an edited event whose leaf hash was recomputed too is caught by the stored tree head', async () => {
    const { space, token } = await spaceWithEvents(4)
    await h.db.query(`UPDATE audit_events SET meta = '{"email":"someone-else@example.com"}' WHERE space_id = $1 AND seq = 5`, [space])
    const row = (await h.db.query<Record<string, any>>('SELECT * FROM audit_events WHERE space_id = $1 AND seq = 5', [space])).rows[0]!
    const leaf = auditLeafHash({ id: row.id, space, time: row.time.toISOString(), actor: row.actor, event: row.event, resources: row.resources, meta: row.meta })
    await h.db.query('UPDATE audit_events SET leaf_hash = $2 WHERE space_id = $1 AND seq = 5', [space, Buffer.from(leaf).toString('hex')])
    const report = await verify(space, token)
    expect(report.ok).toBe(false)
    expect(report.firstBroken.reason).toContain('tree head does not match')
  })

  it('a deleted event is reported at that event', async () => {
    const { space, token } = await spaceWithEvents(4)
    await h.db.query('DELETE FROM audit_events WHERE space_id = $1 AND seq = 6', [space])
    const report = await verify(space, token)
    expect(report.firstBroken).toMatchObject({ seq: 6 })
    expect(report.firstBroken.reason).toContain('missing')
  })

  it('an event appended around the sequencer is reported', async () => {
    const { space, token } = await spaceWithEvents(1)
    const head = (await verify(space, token)).head
    await h.db.query(
      `INSERT INTO audit_events (space_id, seq, id, time, actor, event, resources, meta, leaf_hash)
       VALUES ($1, $2, 'evt_extra', now(), '{"kind":"system","id":"x"}', 'user/delete', '[]', '{}', $3)`,
      [space, head.seq + 1, 'a'.repeat(64)],
    )
    const report = await verify(space, token)
    expect(report.ok).toBe(false)
    expect(report.firstBroken.seq).toBe(head.seq + 1)
  })

  it('a deleted tail is reported', async () => {
    const { space, token } = await spaceWithEvents(3)
    await h.db.query('DELETE FROM audit_events WHERE space_id = $1 AND seq >= 5', [space])
    const report = await verify(space, token)
    expect(report.firstBroken).toMatchObject({ seq: 5 })
    expect(report.firstBroken.reason).toContain('missing from the end')
  })
})

describe('signed checkpoints', () => {
  it('catch a rewrite with every hash recomputed, which the bare log cannot', async () => {
    const { space, token } = await spaceWithEvents(3)
    const kept = await checkpoint(space, token)
    await h.createUser('member', { space, adminToken: token })
    await h.built.services.audit.integrateNow(space)
    const good = await verify(space, token, [kept.note])
    expect(good).toMatchObject({ ok: true })
    expect(good.notes[0]).toEqual({ treeSize: kept.treeSize, ok: true })

    await h.db.query(`UPDATE audit_events SET meta = '{"rewritten":true}' WHERE space_id = $1 AND seq = 4`, [space])
    await rebuildTree(space)
    const bare = await verify(space, token)
    expect(bare.ok).toBe(true) // the log alone is fooled
    const checked = await verify(space, token, [kept.note])
    expect(checked.ok).toBe(false)
    expect(checked.notes[0]).toMatchObject({ treeSize: kept.treeSize, ok: false })
    expect(checked.notes[0].reason).toContain('rewritten')
  })

  it('stored in the database catch a rewrite that left them in place', async () => {
    const { space, token } = await spaceWithEvents(2)
    await checkpoint(space, token)
    await h.db.query(`UPDATE audit_events SET event = 'user/delete' WHERE space_id = $1 AND seq = 2`, [space])
    const stored = (await h.db.query('SELECT note FROM audit_log_checkpoints WHERE space_id = $1', [space])).rows
    await rebuildTree(space)
    for (const row of stored) await h.db.query('INSERT INTO audit_log_checkpoints (space_id, tree_size, root_hash, note, key_id, time) SELECT $1, $2, $3, $4, $5, now()', [space, 1_000_000, 'x', (row as any).note, 'k'])
    const report = await verify(space, token)
    expect(report.ok).toBe(false)
    expect(report.notes.some((note: { ok: boolean; reason?: string }) => !note.ok && note.reason?.includes('rewritten'))).toBe(true)
  })

  it('catch a tail deleted together with the head', async () => {
    const { space, token } = await spaceWithEvents(3)
    const kept = await checkpoint(space, token)
    await h.db.query('DELETE FROM audit_events WHERE space_id = $1 AND seq > $2', [space, kept.treeSize - 2])
    await rebuildTree(space)
    expect((await verify(space, token)).ok).toBe(true)
    const checked = await verify(space, token, [kept.note])
    expect(checked.ok).toBe(false)
    expect(checked.notes[0].reason).toContain('deleted')
  })

  it('refuse a forged or altered checkpoint', async () => {
    const { space, token } = await spaceWithEvents(1)
    const kept = await checkpoint(space, token)
    const lines = kept.note.split('\n')
    lines[2] = Buffer.alloc(32, 7).toString('base64')
    const report = await verify(space, token, [lines.join('\n')])
    expect(report.ok).toBe(false)
    expect(report.notes[0].reason).toContain('checkpoint refused')
    const otherSpace = await spaceWithEvents(1)
    const foreign = await verify(otherSpace.space, otherSpace.token, [kept.note])
    expect(foreign.notes[0].reason).toContain('checkpoint refused')
  })

  it('are signed by a key whose public half the server publishes, as a C2SP verifier key too', async () => {
    const key = await h.request('GET', '/v1/audit/signing-key')
    expect(key.status).toBe(200)
    expect(key.body).toMatchObject({ keyId: h.signer.keyId, algorithm: 'Ed25519', logName: 'gatehouse' })
    expect(key.body.publicKeyPem).toContain('BEGIN PUBLIC KEY')
    expect(key.body.verifierKey).toMatch(/^gatehouse\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/)
  })
})

describe('querying', () => {
  it('filters by event, actor, resource and time, and pages with a cursor without gaps or repeats', async () => {
    const { space, token } = await spaceWithEvents(7)
    const all = await h.request('GET', `/v1/spaces/${space}/audit?limit=500`, { token })
    const total = all.body.events.length
    expect(total).toBeGreaterThan(10)
    const seen: number[] = []
    let cursor: string | null = null
    do {
      const query: string = cursor ? `&cursor=${cursor}` : ''
      const page = await h.request('GET', `/v1/spaces/${space}/audit?limit=3${query}`, { token })
      expect(page.status).toBe(200)
      seen.push(...page.body.events.map((event: { seq: number }) => event.seq))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(seen).toEqual(all.body.events.map((event: { seq: number }) => event.seq))
    expect(seen).toEqual([...seen].sort((a, b) => b - a))

    const creates = await h.request('GET', `/v1/spaces/${space}/audit?event=user/create&limit=500`, { token })
    expect(creates.body.events).toHaveLength(7)
    const userId = creates.body.events[0].resources[0].id
    const byResource = await h.request('GET', `/v1/spaces/${space}/audit?resourceKind=user&resourceId=${userId}`, { token })
    expect(byResource.body.events.map((event: { event: string }) => event.event).sort()).toEqual(['token/create', 'user/create'])
    const system = await h.request('GET', `/v1/spaces/${space}/audit?actor=gatehouse&limit=500`, { token })
    expect(system.body.events).toHaveLength(0)
    const actorId = creates.body.events[0].actor.id
    const byActor = await h.request('GET', `/v1/spaces/${space}/audit?actor=${actorId}&limit=500`, { token })
    // The space's first three events (space, admin account, its token) are by whoever created it.
    expect(byActor.body.events.length).toBe(total - 3)
    expect(byActor.body.events.every((event: { actor: { id: string } }) => event.actor.id === actorId)).toBe(true)

    const middle = all.body.events[5].time
    const later = await h.request('GET', `/v1/spaces/${space}/audit?from=${encodeURIComponent(middle)}&limit=500`, { token })
    expect(later.body.events.every((event: { time: string }) => event.time >= middle)).toBe(true)
    expect(later.body.events.length).toBeLessThan(total)

    const bad = await h.request('GET', `/v1/spaces/${space}/audit?cursor=garbage`, { token })
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toContain('cursor')
  })

  it('exports every matching event as NDJSON, oldest first', async () => {
    const { space, token } = await spaceWithEvents(5)
    const response = await h.request('GET', `/v1/spaces/${space}/audit:export`, { token })
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toContain('application/x-ndjson')
    const lines = response.text.trim().split('\n').map((line) => JSON.parse(line))
    expect(lines.map((event) => event.seq)).toEqual(Array.from({ length: lines.length }, (_, i) => i + 1))
    expect(lines[0]).toMatchObject({ event: 'space/create', space })
    const filtered = await h.request('GET', `/v1/spaces/${space}/audit:export?event=user/create`, { token })
    expect(filtered.text.trim().split('\n')).toHaveLength(5)
  })
})
