import openapiTS, { astToString } from 'openapi-typescript'
import { openApiDocument } from '../../server/src/openapi.js'

export async function renderApiTypes(): Promise<string> {
  const document = await openApiDocument()
  const ast = await openapiTS(document as unknown as Parameters<typeof openapiTS>[0])
  return `// Generated from the Gatehouse server's route schemas by scripts/generate-api-types.ts. Do not edit.\n${astToString(ast)}`
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

/** Each operation's method and path template, the runtime half of api.ts (which holds only types). */
export async function renderRoutes(): Promise<string> {
  const document = (await openApiDocument()) as { paths: Record<string, Partial<Record<string, { operationId?: string }>>> }
  const lines: string[] = []
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const id = item[method]?.operationId
      if (id) lines.push(`  ${id}: { method: '${method.toUpperCase()}', path: '${path}' },`)
    }
  }
  return [
    "// Generated from the Gatehouse server's route schemas by scripts/generate-api-types.ts. Do not edit.",
    "import type { operations } from './api.js'",
    '',
    'export const routes = {',
    ...lines,
    "} as const satisfies Record<keyof operations, { method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH'; path: string }>",
    '',
  ].join('\n')
}
