import type { KeyService } from '../../keys/keys-service.js'

/**
 * What the vault's data path needs of the key service (modules/keys): the space's current data key
 * (encrypts), every live data key version (decrypts, during a rotation too), and a field's current
 * and previous index keys (new values are indexed under the current one; lookups search both until
 * the re-indexing job retires the previous one).
 */
export type FieldKeys = Pick<KeyService, 'dataKey' | 'dataKeyVersions' | 'indexKey'>
