import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashEvent } from '../src/modules/audit/audit-chain.js'
import type { AuditEventBody } from '../src/modules/audit/audit-types.js'
import { createHarness, type Harness } from './harness.js'

let h: Harness
beforeAll(async () => {
  h = await createHarness()
})
afterAll(() => h.close())

let spaces = 0
/** A space of its own with `n` user-creation events on top of its creation events. */
async function spaceWithEvents(n: number): Promise<{ space: string; token: string }> {
  const space = `audit-${(spaces += 1)}`
  const token = await h.createSpace(space)
  for (let i = 0; i < n; i += 1) await h.createUser('member', { space, adminToken: token })
  return { space, token }
}

const verify = async (space: string, token: string, checkpoints?: unknown[]) =>
  checkpoints
    ? (await h.request('POST', `/v1/spaces/${space}/audit:verify`, { token, body: { checkpoints } })).body
    : (await h.request('GET', `/v1/spaces/${space}/audit:verify`, { token })).body

const rowAt = async (space: string, seq: number) =>
  (await h.db.query<Record<string, any>>('SELECT * FROM audit_events WHERE space_id = $1 AND seq = $2', [space, seq])).rows[0]!

describe('the chain', () => {
  it('stays one unbroken chain with no gaps under 50 concurrent writers', async () => {
    const { space, token } = await spaceWithEvents(0)
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        h.request('POST', `/v1/spaces/${space}/groups`, { token, body: { name: `group-${i}` } }),
      ),
    )
    expect(results.map((result) => result.status)).toEqual(Array(50).fill(201))
    const report = await verify(space, token)
    expect(report).toMatchObject({ ok: true, firstBroken: null })
    const { rows } = await h.db.query<{ seq: number; prev_hash: string; hash: string }>(
      'SELECT seq, prev_hash, hash FROM audit_events WHERE space_id = $1 ORDER BY seq',
      [space],
    )
    expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1))
    expect(new Set(rows.map((row) => row.prev_hash)).size).toBe(rows.length) // no fork: each hash followed once
    rows.slice(1).forEach((row, i) => expect(row.prev_hash).toBe(rows[i]!.hash))
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
    expect((await verify(space, token)).head.seq).toBe(before)
    await h.request('POST', `/v1/spaces/${space}/groups`, { token, body: { name: 'after' } })
    const report = await verify(space, token)
    expect(report).toMatchObject({ ok: true, head: { seq: before + 1 } })
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

  it('a checkpoint after a broken link is not reported as good', async () => {
    const { space, token } = await spaceWithEvents(2)
    const early = (await h.request('POST', `/v1/spaces/${space}/audit/checkpoints`, { token })).body
    await h.createUser('member', { space, adminToken: token })
    const late = (await h.request('POST', `/v1/spaces/${space}/audit/checkpoints`, { token })).body
    await h.db.query(`UPDATE audit_events SET event = 'user/delete' WHERE space_id = $1 AND seq = $2`, [space, early.seq + 1])
    const report = await verify(space, token, [early, late])
    expect(report.checkpoints).toEqual([
      { seq: early.seq, ok: true },
      { seq: late.seq, ok: false, reason: `the chain is broken at event ${early.seq + 1}, at or before this checkpoint` },
    ])
  })

  it('an edited actor or time is reported too', async () => {
    const { space, token } = await spaceWithEvents(3)
    await h.db.query(`UPDATE audit_events SET time = time + interval '1 millisecond' WHERE space_id = $1 AND seq = 4`, [space])
    expect((await verify(space, token)).firstBroken).toMatchObject({ seq: 4 })
  })

  it('a deleted event is reported at that event', async () => {
    const { space, token } = await spaceWithEvents(4)
    await h.db.query('DELETE FROM audit_events WHERE space_id = $1 AND seq = 6', [space])
    const report = await verify(space, token)
    expect(report.firstBroken).toMatchObject({ seq: 6 })
    expect(report.firstBroken.reason).toContain('missing')
  })

  it('an inserted event is reported at that event, or at the link it breaks when its hash was forged well', async () => {
    const { space, token } = await spaceWithEvents(4)
    await h.db.query('UPDATE audit_events SET seq = seq + 1000000 WHERE space_id = $1 AND seq >= 5', [space])
    await h.db.query('UPDATE audit_events SET seq = seq - 999999 WHERE space_id = $1 AND seq > 1000000', [space])
    const previous = await rowAt(space, 4)
    const body: AuditEventBody = {
      id: 'evt_forged',
      space,
      seq: 5,
      time: new Date(previous.time.getTime() + 1).toISOString(),
      actor: { kind: 'user', id: 'usr_nobody' },
      event: 'user/delete',
      resources: [],
      meta: {},
      prevHash: previous.hash,
    }
    await h.db.query(
      `INSERT INTO audit_events (space_id, seq, id, time, actor, event, resources, meta, prev_hash, hash)
       VALUES ($1, 5, 'evt_forged', $2, $3::jsonb, 'user/delete', '[]', '{}', $4, $5)`,
      [space, body.time, JSON.stringify(body.actor), previous.hash, 'f'.repeat(64)],
    )
    expect((await verify(space, token)).firstBroken).toMatchObject({ seq: 5 })
    await h.db.query('UPDATE audit_events SET hash = $3 WHERE space_id = $1 AND seq = $2', [space, 5, hashEvent(body)])
    const report = await verify(space, token)
    expect(report.firstBroken).toMatchObject({ seq: 6 })
    expect(report.firstBroken.reason).toContain('does not follow')
  })

  it('an event appended around the chain is reported', async () => {
    const { space, token } = await spaceWithEvents(1)
    const head = (await verify(space, token)).head
    const last = await rowAt(space, head.seq)
    await h.db.query(
      `INSERT INTO audit_events (space_id, seq, id, time, actor, event, resources, meta, prev_hash, hash)
       VALUES ($1, $2, 'evt_extra', now(), '{"kind":"system","id":"x"}', 'user/delete', '[]', '{}', $3, $4)`,
      [space, head.seq + 1, last.hash, 'a'.repeat(64)],
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
  })
})

describe('signed checkpoints', () => {
  async function rewriteFrom(space: string, fromSeq: number) {
    // What a database admin could do: change an event, then recompute every later hash and the head.
    const { rows } = await h.db.query<Record<string, any>>('SELECT * FROM audit_events WHERE space_id = $1 AND seq >= $2 ORDER BY seq', [space, fromSeq])
    let prevHash = (await rowAt(space, fromSeq - 1)).hash
    for (const row of rows) {
      const body: AuditEventBody = {
        id: row.id,
        space,
        seq: row.seq,
        time: row.time.toISOString(),
        actor: row.actor,
        event: row.event,
        resources: row.resources,
        meta: row.seq === fromSeq ? { rewritten: true } : row.meta,
        prevHash,
      }
      const hash = hashEvent(body)
      await h.db.query('UPDATE audit_events SET meta = $3::jsonb, prev_hash = $4, hash = $5 WHERE space_id = $1 AND seq = $2', [
        space,
        row.seq,
        JSON.stringify(body.meta),
        prevHash,
        hash,
      ])
      prevHash = hash
    }
    await h.db.query('UPDATE audit_heads SET hash = $2 WHERE space_id = $1', [space, prevHash])
  }

  it('catch a rewrite of the tail that the bare chain cannot', async () => {
    const { space, token } = await spaceWithEvents(3)
    const checkpoint = await h.request('POST', `/v1/spaces/${space}/audit/checkpoints`, { token })
    expect(checkpoint.status).toBe(201)
    expect(checkpoint.body).toMatchObject({ space, seq: expect.any(Number), keyId: h.signer.keyId })
    await h.createUser('member', { space, adminToken: token })
    expect((await verify(space, token, [checkpoint.body])).ok).toBe(true)

    await rewriteFrom(space, 4)
    const bare = await verify(space, token)
    expect(bare.ok).toBe(true) // the chain alone is fooled
    const checked = await verify(space, token, [checkpoint.body])
    expect(checked.ok).toBe(false)
    expect(checked.checkpoints[0]).toMatchObject({ seq: checkpoint.body.seq, ok: false })
    expect(checked.checkpoints[0].reason).toContain('rewritten')
  })

  it('catch a tail deleted together with the head', async () => {
    const { space, token } = await spaceWithEvents(3)
    const checkpoint = (await h.request('POST', `/v1/spaces/${space}/audit/checkpoints`, { token })).body
    const keep = checkpoint.seq - 2
    await h.db.query('DELETE FROM audit_events WHERE space_id = $1 AND seq > $2', [space, keep])
    await h.db.query('UPDATE audit_heads SET seq = $2, hash = (SELECT hash FROM audit_events WHERE space_id = $1 AND seq = $2) WHERE space_id = $1', [space, keep])
    expect((await verify(space, token)).ok).toBe(true)
    const checked = await verify(space, token, [checkpoint])
    expect(checked.ok).toBe(false)
    expect(checked.checkpoints[0].reason).toContain('deleted')
  })

  it('refuse a forged or altered checkpoint', async () => {
    const { space, token } = await spaceWithEvents(1)
    const checkpoint = (await h.request('POST', `/v1/spaces/${space}/audit/checkpoints`, { token })).body
    const altered = { ...checkpoint, hash: 'b'.repeat(64) }
    const report = await verify(space, token, [altered])
    expect(report.ok).toBe(false)
    expect(report.checkpoints[0].reason).toContain('signature is not valid')
    const otherKey = await verify(space, token, [{ ...checkpoint, keyId: 'feedfacefeedface' }])
    expect(otherKey.checkpoints[0].reason).toContain('signed with key')
  })

  it('are signed by a key whose public half the server publishes', async () => {
    const key = await h.request('GET', '/v1/audit/signing-key')
    expect(key.status).toBe(200)
    expect(key.body).toMatchObject({ keyId: h.signer.keyId, algorithm: 'Ed25519' })
    expect(key.body.publicKeyPem).toContain('BEGIN PUBLIC KEY')
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
