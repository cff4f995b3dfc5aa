import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Tests import the SDK by its published name, from source: no build needed to test.
  resolve: {
    alias: {
      // The browser entry first: '@gatehouse/sdk' would otherwise claim it as a prefix.
      '@gatehouse/sdk/client': fileURLToPath(new URL('./packages/sdk/src/browser.ts', import.meta.url)),
      '@gatehouse/sdk': fileURLToPath(new URL('./packages/sdk/src/index.ts', import.meta.url)),
    },
  },
  test: {
    // Pure policy functions keep their tests beside them (src/**/x.test.ts), as the style guide asks.
    include: ['packages/*/test/**/*.test.ts', 'packages/server/src/**/*.test.ts', 'examples/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more workers only fight over them (and each PGlite is a WASM Postgres).
    maxWorkers: 2,
  },
})
