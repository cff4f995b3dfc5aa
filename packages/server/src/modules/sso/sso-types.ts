import type { Role } from '../auth/auth-types.js'

/** Why a sign-in was refused: a stable word, in the error's details and in the audit event. */
export const REFUSAL_REASONS = [
  'bad_state',
  'replayed',
  'flow_expired',
  'unknown_provider',
  'provider_disabled',
  'idp_error',
  'idp_unreachable',
  'token_exchange_failed',
  'bad_issuer',
  'bad_audience',
  'bad_nonce',
  'token_expired',
  'bad_signature',
  'unsigned_token',
  'invalid_token',
  'email_missing',
  'email_unverified',
  'email_taken',
  'user_disabled',
] as const
export type RefusalReason = (typeof REFUSAL_REASONS)[number]

/** A provider as the API answers it: never the client secret, only whether one is set. */
export interface SsoProvider {
  id: string
  displayName: string
  issuer: string
  clientId: string
  hasClientSecret: boolean
  scopes: string[]
  enabled: boolean
  requireVerifiedEmail: boolean
  linkExistingUsers: boolean
  groupsClaim: string | null
  roleClaim: string | null
  roleMap: Record<string, Role>
  createdAt: string
  updatedAt: string
}

/** What the relying party needs, secret included; never leaves the service. */
export interface SsoProviderSecretView extends SsoProvider {
  clientSecret: string | null
}

export interface ProviderInput {
  id: string
  displayName: string
  issuer: string
  clientId: string
  clientSecret?: string
  scopes?: string[]
  enabled?: boolean
  requireVerifiedEmail?: boolean
  linkExistingUsers?: boolean
  groupsClaim?: string | null
  roleClaim?: string | null
  roleMap?: Record<string, Role>
}

export type ProviderChanges = Partial<Omit<ProviderInput, 'id' | 'clientSecret'>> & { clientSecret?: string | null }

export interface SsoFlow {
  stateHash: string
  spaceId: string
  providerId: string
  nonce: string
  codeVerifier: string
  redirectUri: string
  returnTo: string
  cliRedirect: string | null
  cliChallenge: string | null
  cliState: string | null
  expiresAt: Date
  usedAt: Date | null
}

export interface SsoSettings {
  passwordSignIn: boolean
}
