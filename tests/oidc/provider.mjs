// TEST ONLY: a real OpenID Provider (npm `oidc-provider`) for tollgate's OIDC tests.
//
// Listens on 127.0.0.1 on a port the kernel picks, then prints one line
//   LISTENING http://127.0.0.1:<port>
// (the issuer) and serves until killed. Signing keys are generated at start-up (RS256 and
// ES256), so nothing secret is stored anywhere.
//
// The login step is automatic, so tests can drive the authorization-code flow over plain HTTP:
// the authorization request says who logs in and how, with `login_hint` (the account),
// `test_amr` (space-separated RFC 8176 methods, e.g. "pwd mfa"), `test_acr` and
// `test_auth_age` (seconds since that login, which becomes `auth_time`). The provider itself
// does everything else: sessions, codes, PKCE, tokens, discovery, JWKS.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

function jwk(type, options, alg, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, kid, use: 'sig' };
}

const CLIENT = {
  client_id: 'tollgate-test',
  client_secret: 'tollgate-test-secret',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_post',
  require_auth_time: true,
};

const ACCOUNTS = {
  'rita@example.com': { groups: ['reviewers', 'team:growth'] },
  'alice@example.com': { groups: ['exporters'] },
};

const server = http.createServer();

server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [CLIENT],
    jwks: {
      keys: [
        jwk('rsa', { modulusLength: 2048 }, 'RS256', 'test-rs256'),
        jwk('ec', { namedCurve: 'P-256' }, 'ES256', 'test-es256'),
      ],
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256'] },
    acrValues: ['urn:tollgate:test:pwd', 'urn:tollgate:test:mfa'],
    claims: { openid: ['sub', 'acr', 'amr', 'auth_time'], email: ['email'], groups: ['groups'] },
    // Scope claims go into the ID token too, so one token carries identity and groups.
    conformIdTokenClaims: false,
    extraParams: ['test_amr', 'test_acr', 'test_auth_age'],
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      if (!ACCOUNTS[id]) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, email: id, groups: ACCOUNTS[id].groups }),
      };
    },
    // A first-party test client: grant what it asks for, no consent screen.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email groups');
      await grant.save();
      return grant;
    },
  });

  const callback = provider.callback();
  server.on('request', async (req, res) => {
    if (!req.url.startsWith('/interaction/')) {
      callback(req, res);
      return;
    }
    try {
      const { params } = await provider.interactionDetails(req, res);
      const age = Number(params.test_auth_age || 0);
      const login = {
        accountId: params.login_hint,
        amr: (params.test_amr || 'pwd').split(' '),
        acr: params.test_acr || 'urn:tollgate:test:pwd',
        ts: Math.floor(Date.now() / 1000) - age,
        remember: false,
      };
      await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });

  process.stdout.write(`LISTENING ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
