export interface VaultClient {
  id: string
  clientId: string
  name: string
  policyId: string
  createdAt: string
}

export interface VaultClientRecord extends VaultClient {
  spaceId: string
  secretHash: string
}
