import type { Scenario } from '../lib/types.js'
import { accessCheck } from './access-check.js'
import { auditChain } from './audit-chain.js'
import { auditExportMemory } from './audit-export-memory.js'
import { bulkUpload } from './bulk-upload.js'
import { findMemory } from './find-memory.js'
import { scaleOut } from './scale-out.js'
import { vaultEncryption } from './vault-encryption.js'
import { vaultFind } from './vault-find.js'

/**
 * Every scenario, in the order they run. A new one is a file in this folder and a line here.
 */
export const scenarios: Scenario[] = [accessCheck, vaultFind, vaultEncryption, bulkUpload, auditChain, auditExportMemory, findMemory, scaleOut]
