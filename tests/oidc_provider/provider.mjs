// A real OpenID Connect provider (oidc-provider) for the sign-in tests, on loopback.
//
//   node provider.mjs CONFIG.json
//
// CONFIG holds the port, the issuer, the signing keys (a private JWKS), the clients, and the path of a
// users file that is read again at every login, so a test changes a person's groups between sign-ins.
// Users log in through the provider's own login form (/interaction/:uid); consent is implied, as for
// a company's own applications. POST /__test/id-token changes the next ID token the token endpoint
// returns: {"mode": "resign", "claims": {...}} re-signs it with the provider's key after merging the
// claims (a wrong audience, say); {"mode": "tamper", "claims": {...}} merges them and keeps the old
// signature. Prints "listening <issuer>" once it accepts connections.
import { readFileSync } from 'node:fs';
import { CompactSign, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const users = () => JSON.parse(readFileSync(config.users_file, 'utf8'));
const userBySub = (sub) => Object.values(users()).find((user) => user.sub === sub);

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}
const formBody = async (req) => Object.fromEntries(new URLSearchParams(await body(req)));

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.keys,
  cookies: { keys: ['sign-in-tests-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out of the test directory?', `${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Signed out', '<p>You are signed out of the test directory.</p>');
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const user = userBySub(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        const { password, username, ...claims } = user;
        return claims;
      },
    };
  },
  // First-party application: what it asks for is granted without a consent screen.
  async loadExistingGrant(ctx) {
    if (!ctx.oidc.session?.accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope);
    await grant.save();
    return grant;
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', Object.entries(out).map(([k, v]) => `<p><b>${escape(k)}</b>: ${escape(v)}</p>`).join(''));
  },
});

let nextIdToken = null;

async function idTokenChanged(token, { mode, claims }) {
  const [encodedHeader, , signature] = token.split('.');
  const payload = { ...decodeJwt(token), ...claims };
  for (const [name, value] of Object.entries(claims)) if (value === null) delete payload[name];
  const encodedPayload = Buffer.from(JSON.stringify(payload)).toString('base64url');
  if (mode === 'tamper') return `${encodedHeader}.${encodedPayload}.${signature}`;
  const header = decodeProtectedHeader(token);
  const jwk = config.keys.keys.find((key) => key.kid === header.kid);
  return new CompactSign(Buffer.from(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(await importJWK(jwk, header.alg));
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/favicon.ico') {
    ctx.status = 204; // browsers ask for one; a 404 would be a console error in the browser tests
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/__test/id-token') {
    nextIdToken = JSON.parse(await body(ctx.req));
    ctx.status = 204;
    return;
  }
  await next();
  if (ctx.path === '/token' && nextIdToken && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await idTokenChanged(ctx.body.id_token, nextIdToken) };
    nextIdToken = null;
  }
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.prompt.name !== 'login') {
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, {}, { mergeWithLastSubmission: true }));
    return;
  }
  let error = '';
  if (ctx.method === 'POST' && match[2]) {
    const form = await formBody(ctx.req);
    const user = users()[form.username];
    if (user && user.password === form.password) {
      const result = { login: { accountId: user.sub } };
      ctx.status = 303;
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
      return;
    }
    error = '<p class="error">Wrong username or password.</p>';
  }
  ctx.type = 'html';
  ctx.body = page('Test directory sign-in', `${error}
<form method="post" action="/interaction/${escape(details.uid)}/login">
  <label>Username <input name="username" autocomplete="username" autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>`);
});

// Why a request was refused, in the log the fixture keeps beside the test's files.
for (const event of ['end_session.error', 'grant.error', 'authorization.error', 'server_error']) {
  provider.on(event, (ctx, error) => console.error(event, error.message, error.error_description ?? '', error.cause?.message ?? ''));
}

provider.listen(config.port, '127.0.0.1', () => console.log(`listening ${config.issuer}`));
