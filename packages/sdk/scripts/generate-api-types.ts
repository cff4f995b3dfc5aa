/**
 * Writes src/generated/api.ts from the server's route schemas, so the SDK's types and the server's
 * validation come from one source. A test fails when the file is out of date: run `npm run generate -w packages/sdk`.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { renderApiTypes } from './render-api-types.js'

const target = fileURLToPath(new URL('../src/generated/api.ts', import.meta.url))
writeFileSync(target, await renderApiTypes())
console.log(`wrote ${target}`)
