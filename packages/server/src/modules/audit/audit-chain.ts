import canonicalize from 'canonicalize'
import { sha256Hex } from '../../lib/secrets.js'
import type { AuditEventBody, AuditHead, ChainBreak } from './audit-types.js'

/** The `prevHash` of a space's first event. */
export const GENESIS_HASH = '0'.repeat(64)

/**
 * RFC 8785 (JSON Canonicalization Scheme): sorted keys, one number format, no whitespace. The
 * stored jsonb columns reorder keys; JCS makes the hash independent of that.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value)
  if (text === undefined) throw new Error('value cannot be canonicalised')
  return text
}

/** What JSON keeps of a value (drops `undefined`, turns dates into strings), as jsonb will return it. */
export const jsonRoundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

export const hashEvent = (body: AuditEventBody): string => sha256Hex(canonicalJson(body))

/**
 * The old hash chain (events before migration 0007; new events are leaves of the Merkle tree).
 * Checks one event against the one before it: the sequence has no gap, the event names the previous
 * hash, and its own hash matches its content. Returns the first thing wrong, or null.
 */
export function checkLink(previous: AuditHead, event: AuditEventBody & { hash: string }): ChainBreak | null {
  const expectedSeq = previous.seq + 1
  if (event.seq !== expectedSeq) {
    return event.seq > expectedSeq
      ? { seq: expectedSeq, reason: `event ${expectedSeq} is missing (the next stored event is ${event.seq})` }
      : { seq: event.seq, reason: `event ${event.seq} is out of order` }
  }
  if (event.prevHash !== previous.hash) {
    return { seq: event.seq, reason: `event ${event.seq} does not follow event ${previous.seq}: its prevHash differs` }
  }
  const { id, space, seq, time, actor, event: name, resources, meta, prevHash, hash } = event
  if (hashEvent({ id, space, seq, time, actor, event: name, resources, meta, prevHash }) !== hash) {
    return { seq: event.seq, reason: `event ${event.seq} was altered: its content does not match its hash` }
  }
  return null
}
