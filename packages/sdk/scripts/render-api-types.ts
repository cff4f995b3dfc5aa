import openapiTS, { astToString } from 'openapi-typescript'
import { openApiDocument } from '../../server/src/openapi.js'

export async function renderApiTypes(): Promise<string> {
  const document = await openApiDocument()
  const ast = await openapiTS(document as unknown as Parameters<typeof openapiTS>[0])
  return `// Generated from the Gatehouse server's route schemas by scripts/generate-api-types.ts. Do not edit.\n${astToString(ast)}`
}
