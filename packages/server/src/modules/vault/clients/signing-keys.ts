import { createLocalJWKSet, decodeJwt, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose'
import type { Db } from '../../../db/db.js'
import { AppError } from '../../../http/errors.js'
import { newId } from '../../../lib/ids.js'
import type { SecretSealer } from '../../keys/keys-types.js'

export const TOKEN_ISSUER = 'gatehouse'
export const TOKEN_AUDIENCE = 'gatehouse-vault'

export interface VaultTokenClaims {
  sub: string
  space: string
  pol: string
}

/**
 * How stale a process's copy of the key set may be: it re-reads at least this often (and at once on
 * a token whose `kid` it does not know), so it sees another process's rotation within this time.
 */
export const KEY_SET_REFRESH_MS = 30_000

/** Verified tokens a process remembers (about 0.5 KiB each). */
const VERIFIED_TOKENS = 10_000

interface KeyRow {
  kid: string
  private_pem: string
  public_jwk: JWK
  created_at: Date
  retired_at: Date | null
}

/** The sealing context of a signing key's private key. */
const privateKeyContext = (kid: string) => `vault_signing_keys:${kid}`

/**
 * EdDSA keys for vault client tokens, kept in the database so every server process signs and
 * verifies with the same set. Rotation retires the signing key but keeps publishing it for its
 * publication window: the token lifetime plus KEY_SET_REFRESH_MS, since a process that has not yet
 * re-read the set may still sign with the retired key for that long. The window is checked against
 * the clock at each use, not only when the set is read, so no process verifies with a retired key
 * after its window has ended, however recently it read the set. Private keys are stored sealed
 * under the master key (opened for each signature: an AES-GCM decryption, microseconds).
 */
export function createSigningKeys({ db, clock, tokenTtlSeconds, secrets }: { db: Db; clock: () => Date; tokenTtlSeconds: number; secrets: SecretSealer }) {
  const windowMs = tokenTtlSeconds * 1000 + KEY_SET_REFRESH_MS
  let cache: { at: number; rows: KeyRow[] } | null = null

  const published = (found: KeyRow[], now: number) => found.filter((row) => row.retired_at === null || row.retired_at.getTime() > now - windowMs)

  // jose imports a key set's public keys once per set object: one set per list of published kids
  // (a kid's key never changes), not one per token, which re-imported the key on every request.
  let keySet: { kids: string; verifyWith: ReturnType<typeof createLocalJWKSet> } | null = null
  /** Tokens whose signature this process checked (insertion order: the oldest goes first when full). */
  const verified = new Map<string, { claims: VaultTokenClaims; kid: string; expiresMs: number }>()
  const keySetOf = (found: KeyRow[]) => {
    const kids = found.map((row) => row.kid).join(' ')
    if (keySet?.kids !== kids) keySet = { kids, verifyWith: createLocalJWKSet({ keys: found.map((row) => row.public_jwk) }) }
    return keySet.verifyWith
  }

  async function rows(force = false): Promise<KeyRow[]> {
    const now = clock().getTime()
    if (!force && cache && now - cache.at < KEY_SET_REFRESH_MS) return published(cache.rows, now)
    const { rows: found } = await db.query<KeyRow>(
      `SELECT kid, private_pem, public_jwk, created_at, retired_at FROM vault_signing_keys
       WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC`,
      [new Date(now - windowMs)],
    )
    cache = { at: now, rows: found }
    return published(found, now)
  }

  /** A new key pair as stored: made outside any transaction (no crypto while holding a lock). */
  async function newKey(): Promise<[kid: string, privatePem: string, publicJwk: string]> {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    const kid = newId('key')
    return [kid, await secrets.sealSecret(await exportPKCS8(privateKey), privateKeyContext(kid)), JSON.stringify({ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' })]
  }

  /** Adds the first signing key unless another process just did: a unique index allows one unretired key. */
  async function createFirstKey(): Promise<void> {
    await db.query('INSERT INTO vault_signing_keys (kid, private_pem, public_jwk) VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING', await newKey())
  }

  async function signingKey(): Promise<KeyRow> {
    let active = (await rows()).find((row) => row.retired_at === null)
    if (!active) {
      await createFirstKey()
      active = (await rows(true)).find((row) => row.retired_at === null)
    }
    if (!active) throw new Error('no vault signing key is active')
    return active
  }

  secrets.registerSecretHolder({
    name: 'vault token signing keys',
    async resealAll(q, reseal) {
      const { rows: found } = await q.query<{ kid: string; private_pem: string }>('SELECT kid, private_pem FROM vault_signing_keys ORDER BY kid FOR UPDATE')
      let changed = 0
      for (const row of found) {
        const sealed = await reseal(row.private_pem, privateKeyContext(row.kid))
        if (sealed === row.private_pem) continue
        await q.query('UPDATE vault_signing_keys SET private_pem = $2 WHERE kid = $1', [row.kid, sealed])
        changed++
      }
      // A cached row holds the old sealed value, which the next master key may not open.
      cache = null
      return changed
    },
  })

  /** jose's check of a token against the published keys (WebCrypto: a hop to the thread pool, about half a millisecond a request). */
  async function checkSignature(token: string): Promise<{ claims: VaultTokenClaims; kid: string; expiresMs: number }> {
    const attempt = async (force: boolean) =>
      jwtVerify(token, keySetOf(await rows(force)), {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: ['EdDSA'],
        currentDate: clock(),
      })
    let payload: JWTPayload
    let kid: string | undefined
    try {
      const result = await attempt(false).catch(async (error: { code?: string }) => {
        // A key made by another process since the cache was filled.
        if (error.code === 'ERR_JWKS_NO_MATCHING_KEY') return attempt(true)
        throw error
      })
      payload = result.payload
      kid = result.protectedHeader.kid
    } catch (error) {
      // Refused either way; an expired token's key may already be unpublished, so the (unverified)
      // expiry is read only to say the more useful reason.
      const code = (error as { code?: string }).code
      const expired = code === 'ERR_JWT_EXPIRED' || (() => {
        try {
          const exp = decodeJwt(token).exp
          return typeof exp === 'number' && exp * 1000 <= clock().getTime()
        } catch {
          return false
        }
      })()
      if (expired) throw new AppError('token_expired', 'vault token expired: get a new one from POST /oauth/token')
      throw new AppError('unauthenticated', 'vault token is not valid: get one from POST /oauth/token')
    }
    if (typeof payload.sub !== 'string' || typeof payload.space !== 'string' || typeof payload.pol !== 'string' || typeof payload.exp !== 'number' || !kid) {
      throw new AppError('unauthenticated', 'vault token is not valid: get one from POST /oauth/token')
    }
    return { claims: { sub: payload.sub, space: payload.space, pol: payload.pol }, kid, expiresMs: payload.exp * 1000 }
  }

  return {
    async sign(claims: VaultTokenClaims): Promise<string> {
      let key = await signingKey()
      // A cached row sealed under a master key this node has since rotated away from: read it again.
      const privatePem = await secrets.openSecret(key.private_pem, privateKeyContext(key.kid)).catch(async () => {
        await rows(true)
        key = await signingKey()
        return secrets.openSecret(key.private_pem, privateKeyContext(key.kid))
      })
      return new SignJWT({ space: claims.space, pol: claims.pol })
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject(claims.sub)
        .setJti(newId('jti'))
        .setIssuedAt(Math.floor(clock().getTime() / 1000))
        .setExpirationTime(Math.floor(clock().getTime() / 1000) + tokenTtlSeconds)
        .sign(await importPKCS8(privatePem, 'EdDSA'))
    },

    async jwks(): Promise<{ keys: JWK[] }> {
      return { keys: (await rows()).map((row) => row.public_jwk) }
    },

    /** The claims of a valid token, or a 401 that says what is wrong with it. */
    async verify(token: string): Promise<VaultTokenClaims> {
      // A token whose signature this process checked is taken again after the two checks every use
      // makes: not expired by the clock now, and its key still published now (a retired key's window
      // ends for known tokens exactly as for new ones). What a known token skips is the signature
      // check, whose answer cannot change; a refused token is never kept.
      const known = verified.get(token)
      if (known) {
        if (known.expiresMs > clock().getTime() && (await rows()).some((row) => row.kid === known.kid)) return known.claims
        verified.delete(token)
      }
      const checked = await checkSignature(token)
      if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value!)
      verified.set(token, checked)
      return checked.claims
    },

    /**
     * Retires the signing key and adds its successor in one transaction, so no process ever finds
     * the set without an active key (and makes one of its own). Rotations queue on the table lock.
     */
    async rotate(): Promise<{ kid: string }> {
      const key = await newKey()
      await db.transaction(async (tx) => {
        await tx.query('LOCK TABLE vault_signing_keys IN SHARE ROW EXCLUSIVE MODE')
        await tx.query('UPDATE vault_signing_keys SET retired_at = $1 WHERE retired_at IS NULL', [clock()])
        await tx.query('INSERT INTO vault_signing_keys (kid, private_pem, public_jwk) VALUES ($1, $2, $3::jsonb)', key)
      })
      await rows(true)
      return { kid: key[0] }
    },

    /** Drops the cache: after a rotation made by this process, sign with the new key at once. */
    refresh: async () => void (await rows(true)),
  }
}

export type SigningKeys = ReturnType<typeof createSigningKeys>
