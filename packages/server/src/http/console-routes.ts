import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply } from 'fastify'

/** packages/console/dist, from src/http (tests) and dist/http (npm start) alike. */
export const DEFAULT_CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist', import.meta.url))

/**
 * No inline scripts, no plugins, no framing, nothing loaded from elsewhere. Styles come from our
 * own stylesheet; `style` attributes set by script go through the CSSOM, which CSP allows.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ')

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gatehouse console not built</title></head>
<body><main><h1>The Gatehouse console is not built</h1>
<p>This server found no <code>packages/console/dist</code>. Build it from the repository with
<code>npm run build</code> (or start the server with <code>npm start</code>, which builds everything first), then reload.</p>
<p>The API is up: see <a href="/docs">/docs</a>.</p></main></body></html>
`

function secureHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('x-frame-options', 'DENY')
}

/**
 * Serves the console under /console: hashed assets cached for a year (their name changes with their
 * content), index.html never cached (so a deploy is picked up at once), and index.html for every
 * other path below /console so client-side routes survive a reload.
 */
export async function registerConsole(app: FastifyInstance, options: { distDir?: string } = {}): Promise<void> {
  const distDir = options.distDir ?? DEFAULT_CONSOLE_DIST
  const indexFile = join(distDir, 'index.html')
  const built = existsSync(indexFile)

  const hidden = { schema: { hide: true } }
  app.get('/', hidden, async (_request, reply) => reply.redirect('/console/'))
  app.get('/console', hidden, async (_request, reply) => reply.redirect('/console/'))

  await app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply) => {
      secureHeaders(reply)
    })
    if (!built) {
      scope.get('/console/*', hidden, async (_request, reply) =>
        reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT),
      )
      return
    }
    // Read once: a rebuilt console comes with a restarted server.
    const index = readFileSync(indexFile)
    await scope.register(fastifyStatic, {
      root: join(distDir, 'assets'),
      prefix: '/console/assets/',
      decorateReply: false,
      index: false,
      immutable: true,
      maxAge: '365d',
      schemaHide: true,
    })
    scope.get('/console/*', hidden, async (_request, reply) =>
      reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index),
    )
  })
}
