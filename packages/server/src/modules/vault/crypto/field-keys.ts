/**
 * What the vault's data path needs of the keys (modules/keys), answered from the field-key cache:
 * the space's data keys (the current one encrypts; every live version decrypts, during a rotation
 * too) and a field's current and previous index keys (new values are indexed under the current one;
 * lookups search both until the re-indexing job retires the previous one).
 */
export type { FieldKeys } from '../../keys/keys-types.js'
