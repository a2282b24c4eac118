// A real OpenID Provider for the tests: node's oidc-provider on loopback.
//
//   node oidc_idp.mjs '{"mode": "normal", "clients": [{"client_id": "…", "client_secret": "…",
//                       "redirect_uris": ["…"]}], "groups": {"ann@acme.example": ["acme-sbom"]}}'
//
// Prints IDP_LISTENING=<issuer URL> once it serves. Any login and password
// are accepted (the provider's development interactions); the login is the
// user's e-mail address (email_verified true) and subject.
//
// The mode `defaults` runs oidc-provider at its own defaults for claims
// (`conformIdTokenClaims: true`, as a certified provider): the code flow's
// ID token then carries only `sub`, and the e-mail and profile claims come
// from the UserInfo endpoint (OpenID Connect Core §5.4). Every other mode
// puts the claims into the ID token itself.
//
// Modes, each a way an ID token must be refused by the relying party. The
// tokens are still made and signed by oidc-provider itself; only the request
// or the published metadata is bent:
//   normal        nothing bent
//   wrong-nonce   the nonce of the authorization request is replaced, so the
//                 ID token carries a nonce the relying party never sent
//   expired       the token endpoint runs two hours in the past, so the ID
//                 token's exp is already over when it is issued
//   other-issuer  the provider's issuer is another URL; the discovery
//                 document is rewritten to name this URL, so discovery passes
//                 but every ID token's iss is the other issuer
//
// Each start signs with a fresh RSA key under a fresh kid; `"port": N`
// starts on a given port, so a restart at the same issuer URL is a key
// rotation as a relying party sees it.
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';

const cfg = JSON.parse(process.argv[2]);
const mode = cfg.mode || 'normal';
const server = http.createServer();
await new Promise((r) => server.listen(cfg.port || 0, '127.0.0.1', r));
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
const url = `http://127.0.0.1:${server.address().port}`;
const issuer = mode === 'other-issuer' ? `${url}/other-issuer` : url;

const { default: Provider } = await import('oidc-provider');
const provider = new Provider(issuer, {
  clients: cfg.clients.map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  jwks: { keys: [signingKey] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // Claims go into the ID token itself, not only the userinfo endpoint,
  // except in `defaults`, which keeps the provider's default.
  ...(mode === 'defaults' ? {} : { conformIdTokenClaims: false }),
  pkce: { required: () => true },
  cookies: { keys: ['evident-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id,
          email_verified: true,
          name: id,
          groups: (cfg.groups || {})[id] || [],
        };
      },
    };
  },
});
provider.proxy = false;

const realNow = Date.now;
provider.use(async (ctx, next) => {
  if (mode === 'wrong-nonce' && ctx.path === '/auth' && ctx.method === 'GET') {
    const q = new URLSearchParams(ctx.querystring);
    if (q.has('nonce')) {
      q.set('nonce', 'a-nonce-the-relying-party-never-sent');
      ctx.querystring = q.toString();
    }
  }
  if (mode === 'expired' && ctx.path === '/token') {
    Date.now = () => realNow() - 2 * 3600 * 1000;
    try {
      await next();
    } finally {
      Date.now = realNow;
    }
    return;
  }
  await next();
  if (mode === 'other-issuer' && ctx.path === '/.well-known/openid-configuration' && ctx.body) {
    const body = typeof ctx.body === 'string' ? JSON.parse(ctx.body) : { ...ctx.body };
    body.issuer = url;
    ctx.body = body;
  }
});

server.on('request', provider.callback());
console.log(`IDP_LISTENING=${url}`);
