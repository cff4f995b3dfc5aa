import type { ResultOf } from './call.js'
import type { components, operations } from './generated/api.js'

/** Types straight from the server's route schemas (src/generated/api.ts). */
type Schemas = components['schemas']
type Body<Op extends keyof operations> = operations[Op] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never

export type Resource = Schemas['Resource']
export type Petition = Schemas['Petition']
/** What a caller with the member role gets instead of a Petition: no rule, no actors (`view: 'member'`). */
export type MemberPetition = Schemas['MemberPetition']
/** A petition as the server answers it to this caller: the whole petition, or the member view. */
export type PetitionView = Petition | MemberPetition
export type Grant = Schemas['Grant']
export type Policy = Schemas['Policy']
export type ApprovalOutcome = Schemas['ApprovalOutcome']
export type AuditEvent = Schemas['AuditEvent']

export type ResourceInput = Body<'bulkUpdateResources'>['resources'][number]
export type PetitionInput = Body<'createPetition'>
export type ApprovalRequest = Body<'approval'>
export type ReviewInput = Body<'reviewPetition'>
export type PolicyInput = Body<'createPolicy'>
export type Petitioner = PetitionInput['petitioners'][number]
export type ResourceRef = PetitionInput['resources'][number]

/** Shapes of other answers, named for convenience: each is the result type of its operation. */
type Result<Op extends keyof operations> = ResultOf<Op>
export type SignedCheckpoint = Schemas['SignedCheckpoint']
export type VaultModel = Schemas['VaultModel']
export type Space = Result<'getSpace'>
export type User = Result<'getUser'>
export type Group = Result<'getGroup'>
export type ServiceAccount = Result<'getServiceAccount'>
export type TokenInfo = Result<'getToken'>
export type IssuedToken = Schemas['IssuedToken']
export type WhoAmI = Result<'whoAmI'>
export type WebhookEndpoint = Result<'getWebhookEndpoint'>
export type WebhookDelivery = Result<'getWebhookDelivery'>
export type VaultPolicy = Result<'getVaultPolicy'>
export type VaultClient = Result<'listVaultClients'>['clients'][number]
export type AuditVerifyReport = Result<'verifyAuditChain'>
