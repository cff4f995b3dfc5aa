import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKeyService, createKeysStore, createLocalKms, isSealedSecret } from '../src/modules/keys/index.js'
import { createHarness, testKms, type Harness } from './harness.js'

let h: Harness
// One store for the file (a harness takes seconds): each test works in a space of its own.
beforeAll(async () => {
  h = await createHarness()
})
afterAll(async () => {
  await h.close()
})

/** A second node on the same store: its own process cache, the same master key. */
const otherNode = () => createKeyService({ db: h.db, kms: h.kms, clock: h.clock, store: createKeysStore() })

describe('data keys', () => {
  it('are made on first use (version 1), stored wrapped only, and the same on every node', async () => {
    const keys = h.built.services.keys
    const first = await keys.dataKey(h.db, 'default')
    expect(first.version).toBe(1)
    expect(first.key).toHaveLength(32)
    expect((await otherNode().dataKey(h.db, 'default')).key.equals(first.key)).toBe(true)
    const { rows } = await h.db.query<{ wrapped: Uint8Array; kek_id: string }>(`SELECT wrapped, kek_id FROM space_data_keys WHERE space_id = 'default'`)
    expect(rows).toHaveLength(1)
    expect(rows[0]!.kek_id).toBe(h.kms.keyId)
    expect(Buffer.from(rows[0]!.wrapped).includes(first.key)).toBe(false)
  })

  it('first uses racing on a new space agree on version 1 (another node made it between the two reads)', async () => {
    await h.createSpace('first-use')
    const store = createKeysStore()
    let raced = false
    const racing: typeof store = {
      ...store,
      async liveKeys(q, scope) {
        const rows = await store.liveKeys(q, scope)
        if (!raced) {
          raced = true
          await otherNode().dataKey(h.db, 'first-use')
        }
        return rows
      },
    }
    const key = await createKeyService({ db: h.db, kms: h.kms, clock: h.clock, store: racing }).dataKey(h.db, 'first-use')
    expect(raced).toBe(true)
    expect(key.version).toBe(1)
    expect(key.key.equals((await otherNode().dataKey(h.db, 'first-use')).key)).toBe(true)
  })

  it('a rotation on one node is seen by another at once; old versions stay readable until retired, then are erased', async () => {
    await h.createSpace('rotating')
    const a = h.built.services.keys
    const b = otherNode()
    const v1 = await b.dataKey(h.db, 'rotating')
    expect(await a.rotateDataKey('rotating')).toBe(2)
    const v2 = await b.dataKey(h.db, 'rotating')
    expect(v2.version).toBe(2)
    expect(v2.key.equals(v1.key)).toBe(false)
    const versions = await b.dataKeyVersions(h.db, 'rotating')
    expect(versions(1)?.equals(v1.key)).toBe(true)
    expect(versions(2)?.equals(v2.key)).toBe(true)
    await expect(a.retireDataKey('rotating', 2)).rejects.toMatchObject({ code: 'conflict' })
    await a.retireDataKey('rotating', 1)
    expect((await b.dataKeyVersions(h.db, 'rotating'))(1)).toBeUndefined()
    const { rows } = await h.db.query<{ version: number; wrapped: unknown }>(`SELECT version, wrapped FROM space_data_keys WHERE space_id = 'rotating' ORDER BY version`)
    expect(rows).toEqual([{ version: 1, wrapped: null }, { version: 2, wrapped: expect.anything() }])
    expect(await a.rotateDataKey('rotating')).toBe(3)
  })

  it('are per space', async () => {
    await h.createSpace('second')
    const keys = h.built.services.keys
    expect((await keys.dataKey(h.db, 'default')).key.equals((await keys.dataKey(h.db, 'second')).key)).toBe(false)
  })

  it('a node with another master key cannot unwrap them', async () => {
    await h.built.services.keys.dataKey(h.db, 'second')
    const stranger = createKeyService({ db: h.db, kms: testKms(), clock: h.clock, store: createKeysStore() })
    await expect(stranger.dataKey(h.db, 'second')).rejects.toMatchObject({ code: 'unavailable' })
  })
})

describe('index keys', () => {
  it('per field, with the previous version offered while re-indexing', async () => {
    const keys = h.built.services.keys
    const first = await keys.indexKey(h.db, 'default', 'patients', 'first_name')
    expect(first.current.version).toBe(1)
    expect(first.previous).toBeNull()
    expect((await keys.indexKey(h.db, 'default', 'patients', 'last_name')).current.key.equals(first.current.key)).toBe(false)
    expect(await keys.rotateIndexKey('default', 'patients', 'first_name')).toBe(2)
    const after = await otherNode().indexKey(h.db, 'default', 'patients', 'first_name')
    expect(after.current.version).toBe(2)
    expect(after.previous?.version).toBe(1)
    expect(after.previous?.key.equals(first.current.key)).toBe(true)
    await keys.retireIndexKey('default', 'patients', 'first_name', 1)
    expect((await keys.indexKey(h.db, 'default', 'patients', 'first_name')).previous).toBeNull()
  })
})

describe('sealed secrets', () => {
  it('are prefixed with the master key id, bound to their context, and plain values pass through', async () => {
    const keys = h.built.services.keys
    const sealed = await keys.sealSecret('whsec_abc', 'webhook:wh_1')
    expect(sealed).toMatch(new RegExp(`^ghenc:v1:${h.kms.keyId}:[A-Za-z0-9+/]+=*$`))
    expect(sealed).not.toContain('whsec_abc')
    expect(isSealedSecret(sealed)).toBe(true)
    expect(await keys.openSecret(sealed, 'webhook:wh_1')).toBe('whsec_abc')
    await expect(keys.openSecret(sealed, 'webhook:wh_2')).rejects.toMatchObject({ code: 'integrity_failed' })
    expect(await keys.openSecret('plain-from-before', 'webhook:wh_1')).toBe('plain-from-before')
    const stranger = createKeyService({ db: h.db, kms: createLocalKms(Buffer.alloc(32, 9)), clock: h.clock, store: createKeysStore() })
    await expect(stranger.openSecret(sealed, 'webhook:wh_1')).rejects.toMatchObject({ code: 'unavailable' })
  })
})
