/**
 * Writes src/generated/api.ts (types) and src/generated/routes.ts (method and path of each
 * operation) from the server's route schemas, so the SDK's types and the server's validation come
 * from one source. A test fails when they are out of date: run `npm run generate -w packages/sdk`.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderApiTypes, renderRoutes } from './render-api-types.js'

for (const [file, render] of [
  ['api.ts', renderApiTypes],
  ['routes.ts', renderRoutes],
] as const) {
  const target = fileURLToPath(new URL(`../src/generated/${file}`, import.meta.url))
  writeFileSync(target, await render())
  console.log(`wrote ${target}`)
}
