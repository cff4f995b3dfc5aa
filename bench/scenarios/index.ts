import type { Scenario } from '../lib/types.js'
import { accessCheck } from './access-check.js'
import { auditChain } from './audit-chain.js'
import { auditExportMemory } from './audit-export-memory.js'
import { bulkUpload } from './bulk-upload.js'

/**
 * Every scenario, in the order they run. A new one is a file in this folder and a line here.
 * (Scenario 2 and the vault half of 5 arrive with the vault.)
 */
export const scenarios: Scenario[] = [accessCheck, bulkUpload, auditChain, auditExportMemory]
