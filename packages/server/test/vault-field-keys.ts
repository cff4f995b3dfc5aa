import { randomBytes } from 'node:crypto'
import type { FieldKey, FieldKeys } from '../src/modules/vault/crypto/field-keys.js'

/**
 * Field keys for tests: random, in memory, per space and per field, with versions a test can
 * rotate. The server's own come from the key service (wrapped under the master key, in the database).
 */
export function createTestFieldKeys(): FieldKeys & { rotateData(spaceId: string): void; rotateIndex(spaceId: string, model: string, field: string): void; retireOld(): void } {
  const data = new Map<string, FieldKey[]>()
  const index = new Map<string, FieldKey[]>()
  const versions = (map: Map<string, FieldKey[]>, id: string) => {
    if (!map.has(id)) map.set(id, [{ version: 1, key: randomBytes(32) }])
    return map.get(id)!
  }
  const rotate = (list: FieldKey[]) => list.unshift({ version: list[0]!.version + 1, key: randomBytes(32) })
  return {
    async dataKeys(_q, spaceId) {
      const list = versions(data, spaceId)
      return { current: list[0]!, readable: [...list] }
    },
    async indexKeys(_q, spaceId, model, field) {
      const list = versions(index, `${spaceId}/${model}/${field}`)
      return { current: list[0]!, searchable: [...list] }
    },
    rotateData: (spaceId) => rotate(versions(data, spaceId)),
    rotateIndex: (spaceId, model, field) => rotate(versions(index, `${spaceId}/${model}/${field}`)),
    /** Forgets every key but the current one of each space and field (the end of a rotation job). */
    retireOld() {
      for (const map of [data, index]) for (const [id, list] of map) map.set(id, list.slice(0, 1))
    },
  }
}
