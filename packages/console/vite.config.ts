import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The console is served by the Gatehouse server under /console (packages/server/src/http/console-routes.ts).
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  resolve: {
    // The SDK from source: its browser entry has no node: imports, and the console's types follow the
    // server's OpenAPI document the moment `npm run generate -w packages/sdk` rewrites it.
    alias: { '@gatehouse/sdk/client': fileURLToPath(new URL('../sdk/src/browser.ts', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // No inline scripts or modulepreload polyfill: the CSP allows script-src 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
})
