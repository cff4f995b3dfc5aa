// The SQL migrations are not TypeScript, so tsc does not copy them; the built server reads them from dist.
import { cpSync } from 'node:fs'
cpSync(new URL('../src/db/migrations', import.meta.url), new URL('../dist/db/migrations', import.meta.url), { recursive: true })
