import { createHash, createPublicKey, verify as ed25519Verify } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import canonicalize from 'canonicalize'
import { verifyConsistencyProof, verifyExport, verifyInclusionProof } from '@gatehouse/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSequencer } from '../src/modules/audit/audit-sequencer.js'
import { createAuditStore } from '../src/modules/audit/audit-store.js'
import { createVerifier } from '../src/modules/audit/audit-verify.js'
import { GENESIS_HASH } from '../src/modules/audit/audit-chain.js'
import { createHarness, STORE, type Harness } from './harness.js'

// Checkpoints, proofs and publication of the verifiable audit log (issue 12), on either store.

let h: Harness
const witnessDir = mkdtempSync(join(tmpdir(), 'gatehouse-witness-'))
beforeAll(async () => {
  h = await createHarness({ auditLog: { cadence: { everyEvents: 5, everyMs: 3_600_000 }, witnessDir } })
})
afterAll(async () => {
  await h.close()
  rmSync(witnessDir, { recursive: true, force: true })
})

let spaces = 0
async function spaceWithEvents(n: number) {
  const space = `log-${(spaces += 1)}`
  const token = await h.createSpace(space)
  const audit = h.built.services.audit
  await h.db.transaction(async (tx) => {
    for (let i = 0; i < n; i++) await audit.append(tx, space, { event: 'test/event', actor: { kind: 'system', id: 'test' }, meta: { i } })
  })
  await audit.integrateNow(space)
  return { space, token }
}

const get = async (url: string, token: string) => {
  const response = await h.request('GET', url, { token })
  return response
}

/** RFC 6962 MTH over leaf hashes, written out here so that the check does not use the SDK's tree. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest()
  if (leaves.length === 1) return leaves[0]!
  let k = 1
  while (k * 2 < leaves.length) k *= 2
  return createHash('sha256').update(Buffer.from([1])).update(mth(leaves.slice(0, k))).update(mth(leaves.slice(k))).digest()
}

describe(`checkpoints on ${STORE}`, () => {
  it('verify with a standalone Ed25519 check of the signed-note text, and sign the root of the events exported', async () => {
    const { space, token } = await spaceWithEvents(6)
    const created = await h.request('POST', `/v1/spaces/${space}/audit/checkpoints`, { token })
    expect(created.status).toBe(201)
    const note: string = created.body.note
    const key = (await h.request('GET', '/v1/audit/signing-key')).body

    // The note, read by hand per C2SP signed-note: text, blank line, "— <name> <base64(keyid ‖ sig)>".
    const split = note.indexOf('\n\n')
    const text = note.slice(0, split + 1)
    const [dash, name, blob] = note.slice(split + 2, -1).split(' ')
    expect(dash).toBe('\u2014')
    expect(name).toBe(key.logName)
    const raw = Buffer.from(blob!, 'base64')
    expect(raw).toHaveLength(68)
    const publicKey = createPublicKey(key.publicKeyPem)
    const rawKey = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url')
    const expectedId = createHash('sha256').update(name!).update(Buffer.from([0x0a, 0x01])).update(rawKey).digest().subarray(0, 4)
    expect(raw.subarray(0, 4)).toEqual(expectedId)
    expect(ed25519Verify(null, Buffer.from(text, 'utf8'), publicKey, raw.subarray(4))).toBe(true)
    expect(ed25519Verify(null, Buffer.from(text.replace(/\n(\d+)\n/, (_, n) => `\n${Number(n) + 1}\n`)), publicKey, raw.subarray(4))).toBe(false)

    const [origin, size, root] = text.slice(0, -1).split('\n')
    expect(origin).toBe(`gatehouse/spaces/${space}`)
    // The root is the RFC 6962 tree of the exported events' leaves, computed with canonicalize and SHA-256 only.
    const exported = (await get(`/v1/spaces/${space}/audit:export`, token)).text.trim().split('\n').map((line) => JSON.parse(line))
    expect(exported).toHaveLength(Number(size))
    const leaves = exported.map((event) =>
      createHash('sha256')
        .update(Buffer.from([0]))
        .update(canonicalize({ v: 1, id: event.id, space: event.space, time: event.time, actor: event.actor, event: event.event, resources: event.resources, meta: event.meta })!)
        .digest(),
    )
    expect(mth(leaves).toString('base64')).toBe(root)
  })

  it('are made every N events by the sequencer, listed, served as the latest, published to the witness directory and the outbox', async () => {
    const { space, token } = await spaceWithEvents(0)
    const hook = await h.request('POST', `/v1/spaces/${space}/webhooks`, { token, body: { url: 'http://127.0.0.1:9/hook', events: ['audit/checkpoint'] } })
    expect(hook.status).toBe(201)
    const audit = h.built.services.audit
    for (let i = 0; i < 12; i++) {
      await h.db.transaction((tx) => audit.append(tx, space, { event: 'test/event', actor: { kind: 'system', id: 'test' } }))
      await audit.integrateNow(space)
    }
    const listed = await get(`/v1/spaces/${space}/audit/checkpoints?limit=2`, token)
    expect(listed.status).toBe(200)
    const sizes = listed.body.checkpoints.map((checkpoint: { treeSize: number }) => checkpoint.treeSize)
    expect(sizes).toHaveLength(2)
    expect(sizes[0] - sizes[1]).toBe(5)
    const rest = await get(`/v1/spaces/${space}/audit/checkpoints?limit=50&cursor=${listed.body.nextCursor}`, token)
    expect(rest.body.checkpoints.every((checkpoint: { treeSize: number }) => checkpoint.treeSize < sizes[1])).toBe(true)
    const latest = await get(`/v1/spaces/${space}/audit/checkpoint`, token)
    expect(latest.body.treeSize).toBe(sizes[0])
    expect(readFileSync(join(witnessDir, space, 'latest'), 'utf8')).toBe(latest.body.note)
    expect(readFileSync(join(witnessDir, space, String(sizes[1])), 'utf8')).toBe(listed.body.checkpoints[1].note)
    const messages = await h.db.query<{ payload: string }>(`SELECT payload FROM webhook_messages WHERE space_id = $1 AND type = 'audit/checkpoint' ORDER BY created_at`, [space])
    const notes = messages.rows.map((row) => JSON.parse(row.payload).data.note)
    expect(notes).toContain(latest.body.note)
  })
})

describe(`proofs on ${STORE}`, () => {
  it('inclusion: every event of a log verifies offline against a checkpoint, and a proof for another event, size or log does not', async () => {
    const { space, token } = await spaceWithEvents(40)
    const checkpoint = (await h.request('POST', `/v1/spaces/${space}/audit/checkpoints`, { token })).body
    const vkey = (await h.request('GET', '/v1/audit/signing-key')).body.verifierKey
    const events = (await get(`/v1/spaces/${space}/audit:export`, token)).text.trim().split('\n').map((line) => JSON.parse(line))
    for (const event of events) {
      const proof = await get(`/v1/spaces/${space}/audit/proof/inclusion?seq=${event.seq}&treeSize=${checkpoint.treeSize}`, token)
      expect(proof.status).toBe(200)
      expect(verifyInclusionProof(event, proof.body, checkpoint.note, vkey)).toEqual({ ok: true })
    }
    const proof = (await get(`/v1/spaces/${space}/audit/proof/inclusion?seq=7&treeSize=${checkpoint.treeSize}`, token)).body
    expect(verifyInclusionProof({ ...events[6], meta: { i: 99 } }, proof, checkpoint.note, vkey).ok).toBe(false)
    expect(verifyInclusionProof(events[7], proof, checkpoint.note, vkey).ok).toBe(false)
    const smaller = (await get(`/v1/spaces/${space}/audit/proof/inclusion?seq=7&treeSize=${checkpoint.treeSize - 1}`, token)).body
    expect(verifyInclusionProof(events[6], smaller, checkpoint.note, vkey).ok).toBe(false)
    expect(verifyInclusionProof({ ...events[6], space: 'other' }, proof, checkpoint.note, vkey).ok).toBe(false)

    const beyond = await get(`/v1/spaces/${space}/audit/proof/inclusion?seq=1&treeSize=${checkpoint.treeSize + 1}`, token)
    expect(beyond.status).toBe(400)
    expect(beyond.body.error.message).toContain('beyond')
    expect((await get(`/v1/spaces/${space}/audit/proof/inclusion?seq=0&treeSize=3`, token)).status).toBe(400)
  })

  it('consistency: a checkpoint taken later proves it extends every earlier one; swapped or altered proofs fail', async () => {
    const { space, token } = await spaceWithEvents(3)
    const vkey = (await h.request('GET', '/v1/audit/signing-key')).body.verifierKey
    const taken: Array<{ treeSize: number; note: string }> = []
    for (const more of [1, 4, 9, 17]) {
      await h.db.transaction(async (tx) => {
        for (let i = 0; i < more; i++) await h.built.services.audit.append(tx, space, { event: 'test/more', actor: { kind: 'system', id: 'test' } })
      })
      taken.push((await h.request('POST', `/v1/spaces/${space}/audit/checkpoints`, { token })).body)
    }
    for (const older of taken) {
      for (const newer of taken.filter((checkpoint) => checkpoint.treeSize >= older.treeSize)) {
        const proof = await get(`/v1/spaces/${space}/audit/proof/consistency?from=${older.treeSize}&to=${newer.treeSize}`, token)
        expect(proof.status).toBe(200)
        expect(verifyConsistencyProof(older.note, newer.note, proof.body, vkey)).toEqual({ ok: true })
      }
    }
    const [a, , , d] = taken as [typeof taken[0], unknown, unknown, typeof taken[0]]
    const proof = (await get(`/v1/spaces/${space}/audit/proof/consistency?from=${a.treeSize}&to=${d.treeSize}`, token)).body
    expect(verifyConsistencyProof(d.note, a.note, proof, vkey).ok).toBe(false)
    const altered = { ...proof, hashes: proof.hashes.map((hash: string, i: number) => (i === 0 ? Buffer.alloc(32, 1).toString('base64') : hash)) }
    expect(verifyConsistencyProof(a.note, d.note, altered, vkey).ok).toBe(false)
    expect((await get(`/v1/spaces/${space}/audit/proof/consistency?from=5&to=4`, token)).status).toBe(400)
  })

  it('a whole export verifies offline against its checkpoints; an edited, dropped or reordered event does not', async () => {
    const { space, token } = await spaceWithEvents(20)
    const notes = [(await h.request('POST', `/v1/spaces/${space}/audit/checkpoints`, { token })).body.note]
    const vkey = (await h.request('GET', '/v1/audit/signing-key')).body.verifierKey
    const events = (await get(`/v1/spaces/${space}/audit:export`, token)).text.trim().split('\n').map((line) => JSON.parse(line))
    expect(await verifyExport(events, notes, vkey)).toMatchObject({ ok: true, firstBad: null, checkpoints: [{ ok: true }] })
    const edited = events.map((event, i) => (i === 9 ? { ...event, meta: { i: -1 }, leafHash: undefined } : event))
    expect((await verifyExport(edited, notes, vkey)).checkpoints[0]!.ok).toBe(false)
    expect((await verifyExport(events.filter((_, i) => i !== 4), notes, vkey)).firstBad?.seq).toBe(5)
    const swapped = events.map((event, i) => (i === 3 ? { ...events[4], seq: 4 } : i === 4 ? { ...events[3], seq: 5 } : event))
    expect((await verifyExport(swapped, notes, vkey)).ok).toBe(false)
  })
})

describe(`verify on ${STORE}`, () => {
  /** A space with 7 queued events and none integrated (a bare space row: no event of its own). */
  async function queuedSpace(): Promise<string> {
    const space = `race-${(spaces += 1)}`
    const audit = h.built.services.audit
    await h.db.transaction(async (tx) => {
      await tx.query(`INSERT INTO spaces (id, display_name) VALUES ($1, $1)`, [space])
      await createAuditStore().createHead(tx, space, GENESIS_HASH)
    })
    await h.db.transaction(async (tx) => {
      for (let i = 0; i < 7; i++) await audit.append(tx, space, { event: 'test/race', actor: { kind: 'system', id: 'test' }, meta: { i } })
    })
    const integrated = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events WHERE space_id = $1`, [space])
    expect(integrated.rows[0]!.n).toBe(0)
    return space
  }

  /** A verify of `space` through `store` (the real one, with one method racing the sequencer). */
  const verifyThrough = (store: ReturnType<typeof createAuditStore>, space: string) => createVerifier({ db: h.db, store, signer: h.signer, logName: 'gatehouse' })(space, [], [])

  it('a batch integrated while verify walks is walked too, not reported as a deleted tail', async () => {
    // The race CI once hit: the walk found nothing yet, the sequencer then integrated a batch and
    // moved the head, and verify read that head as "events 1 to N are missing from the end".
    const space = await queuedSpace()
    const store = createAuditStore()
    let walks = 0
    const racing = {
      ...store,
      pageAfter: async (...args: Parameters<typeof store.pageAfter>) => {
        const page = await store.pageAfter(...args)
        // The batch lands just after the first page was read.
        if ((walks += 1) === 1) await h.built.services.audit.integrateNow(space)
        return page
      },
    }
    const report = await verifyThrough(racing, space)
    expect(walks).toBeGreaterThan(1)
    expect(report).toMatchObject({ ok: true, firstBroken: null, checkedEvents: 7, pending: 0 })
  })

  it('a batch integrated after the walk is counted as checked or as pending, never as neither', async () => {
    // The race CI hit next: the walk and the head saw an empty log, the batch then landed, and the
    // queue, counted last, was empty too: "ok, 0 checked, 0 pending" for a log of 7 events.
    const space = await queuedSpace()
    const store = createAuditStore()
    let counts = 0
    const racing = {
      ...store,
      pendingCount: async (...args: Parameters<typeof store.pendingCount>) => {
        if ((counts += 1) === 1) await h.built.services.audit.integrateNow(space)
        return store.pendingCount(...args)
      },
    }
    const report = await verifyThrough(racing, space)
    expect(report.checkedEvents + report.pending).toBeGreaterThanOrEqual(7)
    expect(report).toMatchObject({ ok: true, firstBroken: null, checkedEvents: 7, pending: 0 })
  })
})

describe.runIf(STORE === 'postgres')('concurrency on PostgreSQL', () => {
  it('50 concurrent writers and 3 concurrent sequencers make one gapless sequence, every event integrated once', async () => {
    const { space } = await spaceWithEvents(0)
    const audit = h.built.services.audit
    const sequencers = [0, 1, 2].map(() =>
      createSequencer({ db: h.db, store: createAuditStore(), signer: h.signer, clock: h.clock, logName: 'gatehouse', cadence: { everyEvents: 7, everyMs: 3_600_000 }, batchSize: 9 }),
    )
    let writing = true
    const writers = Promise.all(
      Array.from({ length: 50 }, (_, w) =>
        (async () => {
          for (let i = 0; i < 6; i++) await h.db.transaction((tx) => audit.append(tx, space, { event: 'test/concurrent', actor: { kind: 'system', id: `w${w}` }, meta: { i } }))
        })(),
      ),
    ).finally(() => (writing = false))
    const runs = sequencers.map(async (sequencer) => {
      while (writing) await sequencer.integrate(space)
      await sequencer.integrate(space, { wait: true })
    })
    await Promise.all([writers, ...runs])
    const { rows } = await h.db.query<{ seq: number; id: string; meta: { i: number }; actor: { id: string } }>(
      `SELECT seq, id, meta, actor FROM audit_events WHERE space_id = $1 AND event = 'test/concurrent' ORDER BY seq`,
      [space],
    )
    expect(rows).toHaveLength(300)
    expect(new Set(rows.map((row) => `${row.actor.id}:${row.meta.i}`)).size).toBe(300)
    const all = await h.db.query<{ seq: number }>('SELECT seq FROM audit_events WHERE space_id = $1 ORDER BY seq', [space])
    expect(all.rows.map((row) => row.seq)).toEqual(Array.from({ length: all.rows.length }, (_, i) => i + 1))
    expect((await h.db.query('SELECT 1 FROM audit_pending WHERE space_id = $1', [space])).rowCount).toBe(0)
    // Each writer's events are in the order it committed them.
    for (let w = 0; w < 50; w++) {
      const mine = rows.filter((row) => row.actor.id === `w${w}`).map((row) => row.meta.i)
      expect(mine).toEqual([0, 1, 2, 3, 4, 5])
    }
    const report = await audit.verify(space, [], [])
    expect(report).toMatchObject({ ok: true, pending: 0 })
    expect(report.notes.every((note) => note.ok)).toBe(true)
  })
})
