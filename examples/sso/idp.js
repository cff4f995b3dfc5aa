// A local OpenID provider for trying Gatehouse single sign-on (docs/sso.md): `npm run -w examples sso-idp`.
// oidc-provider with its development login form (any password works; the login picks a test user).
// For development only: in-memory state, development signing keys, no real authentication.
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'
import Provider from 'oidc-provider'

/** Test users: the login name is the account; `groups` and `email_verified` are claims. */
export const USERS = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice (reviewer, leads)', groups: ['leads', 'gatehouse-reviewers'] },
  bob: { email: 'bob@example.com', email_verified: true, name: 'Bob (member, support)', groups: ['support'] },
  mallory: { email: 'mallory@example.com', email_verified: false, name: 'Mallory (unverified email: refused)', groups: [] },
}

/**
 * Starts the IdP. `gatehouseUrl` and `providerIds` decide the registered redirect URIs:
 * {gatehouseUrl}/v1/spaces/{space}/sso/{provider}/callback.
 */
export async function startIdp({ port = 9090, host = '127.0.0.1', gatehouseUrl = 'http://127.0.0.1:8080', space = 'default', providerIds = ['oidc'], clientId = 'gatehouse', clientSecret = 'gatehouse-dev-secret' } = {}) {
  const server = createServer()
  await new Promise((resolve) => server.listen(port, host, resolve))
  const issuer = `http://${host}:${server.address().port}`
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: providerIds.map((id) => `${gatehouseUrl.replace(/\/+$/, '')}/v1/spaces/${space}/sso/${id}/callback`),
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    async findAccount(_ctx, id) {
      if (!USERS[id]) return undefined
      return { accountId: id, claims: async () => ({ sub: id, ...USERS[id] }) }
    },
    // Gatehouse asks for `openid email profile` by default: groups come with the profile.
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    conformIdTokenClaims: false,
    cookies: { keys: ['examples-only-cookie-key'] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    // No consent screen: the example's one client is trusted.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId)
      if (grantId) return ctx.oidc.provider.Grant.find(grantId)
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId })
      grant.addOIDCScope('openid email profile groups')
      await grant.save()
      return grant
    },
  })
  server.on('request', provider.callback())
  return { issuer, clientId, clientSecret, close: () => new Promise((resolve) => server.close(resolve)) }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const gatehouseUrl = process.env.GATEHOUSE_URL ?? 'http://127.0.0.1:8080'
  const idp = await startIdp({ port: Number(process.env.IDP_PORT ?? 9090), gatehouseUrl })
  console.log(`Local OpenID provider at ${idp.issuer} (users: ${Object.keys(USERS).join(', ')}; any password)

Start Gatehouse with it (another terminal):

  GATEHOUSE_OIDC_ISSUER=${idp.issuer} GATEHOUSE_OIDC_CLIENT_ID=${idp.clientId} \\
  GATEHOUSE_OIDC_CLIENT_SECRET=${idp.clientSecret} GATEHOUSE_OUTBOUND_ALLOW=127.0.0.1/32 \\
  GATEHOUSE_PUBLIC_URL=${gatehouseUrl} npm start

Then open ${gatehouseUrl}/v1/spaces/default/sso/oidc/start in a browser.`)
}
