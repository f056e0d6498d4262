// TEST ONLY: a real OpenID Provider (npm `oidc-provider`) for tollgate's OIDC tests.
//
// Listens on 127.0.0.1 on a port the kernel picks, then prints one line
//   LISTENING http://127.0.0.1:<port>
// (the issuer) and serves until killed. Signing keys are generated at start-up (RS256 and
// ES256), so nothing secret is stored anywhere.
//
// With `login_hint`, the login step is automatic, so tests can drive the authorization-code flow
// over plain HTTP: the authorization request says who logs in and how, with `login_hint` (the
// account), `test_amr` (space-separated RFC 8176 methods, e.g. "pwd mfa"), `test_acr` and
// `test_auth_age` (seconds since that login, which becomes `auth_time`). Without `test_amr`, a
// request whose `acr_values` ask for urn:tollgate:test:mfa gets a multi-factor login
// (amr "pwd otp mfa"), any other a password login.
//
// Without `login_hint` the provider shows a sign-in page (account, password, and a one-time
// code when multi-factor is asked for), for browser tests. Any password and any six-digit
// code are accepted: the accounts are test accounts.
//
// Clients: `tollgate-test` (the identity tests) and `tollgate-console` (the reviewer console, a
// native client, so its loopback redirect URI may use any port, RFC 8252 section 7.3).
//
// The provider itself does everything else: sessions, codes, PKCE, tokens, discovery, JWKS.
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

const CONSOLE = {
  client_id: 'tollgate-console',
  client_secret: 'tollgate-console-secret',
  application_type: 'native',
  redirect_uris: ['http://127.0.0.1/console/auth/callback'],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  require_auth_time: true,
};

const MFA = 'urn:tollgate:test:mfa';

const ACCOUNTS = {
  'rita@example.com': { groups: ['reviewers', 'team:growth'] },
  'sam@example.com': { groups: ['reviewers', 'sre'] },
  'alice@example.com': { groups: ['exporters', 'tollgate-auditors'] },
  'omar@example.com': { groups: ['finance', 'tollgate-auditors'] },
};

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// The sign-in page for browsers: labelled fields, no script.
function signInPage(uid, mfa, error) {
  const otp = mfa
    ? '<label for="otp">One-time code</label><input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" required pattern="[0-9]{6}">'
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test IdP sign-in</title></head>
<body><main><h1>Test identity provider</h1>${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
${otp}<button type="submit">Sign in</button></form></main></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function wantsMfa(params) {
  return String(params.acr_values || '').split(' ').includes(MFA);
}

const server = http.createServer();

server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [CLIENT, CONSOLE],
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
      const { uid, params, prompt } = await provider.interactionDetails(req, res);
      // oidc-provider always asks a native client (the console) for consent: a first-party
      // test client is granted what it asked for.
      if (prompt.name === 'consent') {
        const { session, grantId } = await provider.interactionDetails(req, res);
        const grant = grantId
          ? await provider.Grant.find(grantId)
          : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
        grant.addOIDCScope(String(params.scope || 'openid'));
        const consent = { grantId: await grant.save() };
        await provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
        return;
      }
      const mfa = wantsMfa(params);
      let accountId = params.login_hint;
      let amr = params.test_amr ? params.test_amr.split(' ') : (mfa ? ['pwd', 'otp', 'mfa'] : ['pwd']);
      if (!accountId) {
        if (req.method !== 'POST') {
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(signInPage(uid, mfa));
          return;
        }
        const form = await readForm(req);
        accountId = form.get('email');
        if (!ACCOUNTS[accountId] || (mfa && !/^[0-9]{6}$/.test(form.get('otp') || ''))) {
          res.statusCode = 401;
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(signInPage(uid, mfa, 'Unknown account or wrong code'));
          return;
        }
        amr = mfa ? ['pwd', 'otp', 'mfa'] : ['pwd'];
      }
      const age = Number(params.test_auth_age || 0);
      const login = {
        accountId,
        amr,
        acr: params.test_acr || (amr.includes('mfa') ? MFA : 'urn:tollgate:test:pwd'),
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
