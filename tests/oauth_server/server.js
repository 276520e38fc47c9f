// A real OAuth 2.0 / OpenID Connect authorization server for authrelay's end-to-end tests.
//
// This is only a launcher: every protocol endpoint (authorization, token, userinfo, discovery,
// revocation, introspection, the dev login/consent pages) is panva's `oidc-provider`, an
// OpenID-certified implementation. What this file adds, for the tests only:
//
//   GET  /api/whoami          a protected resource that checks a bearer access token
//                             (client-credentials tokens too: sub null, client_id set)
//   GET  /__stats             request counters
//   POST /__reset             zero the counters
//   POST /__revoke_refresh    destroy refresh tokens (?sub=<account id>; all when omitted)
//
// and one strictness check oidc-provider does not make: a client registered with
// client_secret_basic that sends its secret in the body (or one registered with
// client_secret_post that uses HTTP Basic) is refused with invalid_client, so tests notice a
// wrong client authentication method (oidc-provider itself accepts either secret method).
// Set "strict_client_auth": false in the config to turn that off.
//
// Usage: node server.js <config.json>     (or OAUTH_SERVER_CONFIG=<config.json> node server.js)
//
// config.json:
//   {
//     "port": 4000,                         // listens on 127.0.0.1:<port>, issuer http://127.0.0.1:<port>
//     "clients": [ {client metadata as oidc-provider takes it} ],
//     "access_token_ttl": 3600,             // seconds (ttl.AccessToken)
//     "refresh_token_ttl": 1209600,         // optional, seconds (ttl.RefreshToken)
//     "scopes": ["openid", "offline_access", "read", "write"],
//     "strict_client_auth": true            // optional, default true (see above)
//   }
//
// Prints "READY http://127.0.0.1:<port>" on stdout once listening; exits on SIGTERM / SIGINT.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

const configPath = process.argv[2] || process.env.OAUTH_SERVER_CONFIG;
if (!configPath) {
  console.error('usage: node server.js <config.json>  (or set OAUTH_SERVER_CONFIG)');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));

const HOST = '127.0.0.1';
const port = Number(config.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`invalid "port" in ${configPath}: ${config.port}`);
  process.exit(2);
}
const issuer = `http://${HOST}:${port}`;

// ---------------------------------------------------------------------------------------------
// A plain in-memory adapter (one Map for every model). oidc-provider ships one too; ours exists
// so that /__revoke_refresh can enumerate refresh tokens by account.
// ---------------------------------------------------------------------------------------------

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

const store = new Map(); // `${model}:${id}` -> { payload, expiresAt (ms epoch or Infinity) }

function live(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry;
}

class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(this.key(id), { payload, expiresAt });
  }

  async find(id) {
    return live(this.key(id))?.payload;
  }

  async findByUid(uid) {
    for (const [key, entry] of store) {
      if (key.startsWith(`${this.model}:`) && entry.payload.uid === uid) {
        return live(key)?.payload;
      }
    }
    return undefined;
  }

  async findByUserCode(userCode) {
    for (const [key, entry] of store) {
      if (key.startsWith(`${this.model}:`) && entry.payload.userCode === userCode) {
        return live(key)?.payload;
      }
    }
    return undefined;
  }

  async consume(id) {
    const entry = live(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const [key, entry] of store) {
      const model = key.slice(0, key.indexOf(':'));
      if (GRANTABLE.has(model) && entry.payload.grantId === grantId) {
        store.delete(key);
      }
    }
  }
}

function destroyRefreshTokens(sub) {
  let revoked = 0;
  for (const [key, entry] of store) {
    if (!key.startsWith('RefreshToken:')) continue;
    if (sub === undefined || entry.payload.accountId === sub) {
      store.delete(key);
      revoked += 1;
    }
  }
  return revoked;
}

// ---------------------------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------------------------

const clients = (config.clients || []).map((client) => ({
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...client,
}));

const clientsById = new Map(clients.map((client) => [client.client_id, client]));
const strictClientAuth = config.strict_client_auth !== false;

const scopes = [...new Set(['openid', 'offline_access', ...(config.scopes || [])])];
const accessTokenTTL = Number(config.access_token_ttl ?? 3600);
const refreshTokenTTL = Number(config.refresh_token_ttl ?? 14 * 24 * 60 * 60);

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  clients,
  // Non-OIDC scopes ("read", "write", ...) must be listed here: oidc-provider silently drops any
  // requested scope it does not know (unless it belongs to a resource server).
  scopes,
  claims: {
    openid: ['sub', 'email', 'name'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.com`, email_verified: true, name: id };
      },
    };
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: true },
    userinfo: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    // For clients registered with grant_types including "client_credentials".
    clientCredentials: { enabled: true },
  },
  // PKCE is optional for confidential clients (required for public ones, as by default); when a
  // code_challenge is sent, oidc-provider stores it and the token request must carry the matching
  // code_verifier whatever this returns.
  pkce: {
    required: (ctx, client) => client.clientAuthMethod === 'none',
  },
  // Refresh tokens for every client allowed the refresh_token grant, whatever the scope (the
  // default wants `offline_access`, which itself needs prompt=consent or no prompt at all).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  // Tokens do not die with the browser session (the default ties them to it without
  // offline_access).
  expiresWithSession: async () => false,
  // Every use of a refresh token yields a new one; the used one is consumed (presenting it again
  // is invalid_grant and, as oidc-provider's reuse detection, revokes the whole grant).
  rotateRefreshToken: true,
  ttl: {
    AccessToken: accessTokenTTL,
    ClientCredentials: accessTokenTTL,
    AuthorizationCode: 60,
    RefreshToken: refreshTokenTTL,
    Grant: refreshTokenTTL,
    IdToken: 3600,
    Interaction: 3600,
    Session: 14 * 24 * 60 * 60,
  },
  routes: {
    authorization: '/auth',
    token: '/token',
    userinfo: '/me',
    revocation: '/token/revocation',
    introspection: '/token/introspection',
    jwks: '/jwks',
  },
});

// ---------------------------------------------------------------------------------------------
// Test-only endpoints and counters
// ---------------------------------------------------------------------------------------------

let stats;
function resetStats() {
  stats = {
    token_requests: 0,
    token_requests_by_grant: { authorization_code: 0, refresh_token: 0 },
    userinfo_requests: 0,
    // The form of the last token request, without client_secret (tests check extra params).
    last_token_params: {},
  };
}
resetStats();

function sendJson(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = JSON.stringify(body);
}

async function whoami(ctx) {
  const header = ctx.get('authorization');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const invalid = () => {
    ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
    sendJson(ctx, 401, { error: 'invalid_token' });
  };
  if (!match) {
    invalid();
    return;
  }
  const value = match[1];
  // A client-credentials token has no end user: it answers with the client as the subject.
  const machine = await provider.ClientCredentials.find(value);
  if (machine && !machine.isExpired) {
    sendJson(ctx, 200, {
      sub: null,
      scope: machine.scope || '',
      client_id: machine.clientId,
      token_suffix: value.slice(-6),
    });
    return;
  }
  // AccessToken.find returns undefined for unknown, expired or malformed tokens.
  const token = await provider.AccessToken.find(value);
  if (!token || token.isExpired) {
    invalid();
    return;
  }
  // Like oidc-provider's own userinfo endpoint: the grant behind the token must still exist.
  const grant = token.grantId ? await provider.Grant.find(token.grantId) : undefined;
  if (!grant || grant.accountId !== token.accountId || grant.clientId !== token.clientId) {
    invalid();
    return;
  }
  sendJson(ctx, 200, {
    sub: token.accountId,
    scope: token.scope || '',
    client_id: token.clientId,
    token_suffix: value.slice(-6),
  });
}

const CLIENT_AUTH_PATHS = new Set(['/token', '/token/revocation', '/token/introspection']);
const BODY_LIMIT = 56 * 1024;

async function readRawBody(req) {
  const chunks = [];
  let received = 0;
  for await (const chunk of req) {
    received += chunk.length;
    if (received > BODY_LIMIT) throw new Error('request entity too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received).toString('utf8');
}

// The client authentication method a token/revocation/introspection request used, and for which
// client; undefined when it is none of the two secret methods.
function usedSecretMethod(ctx, form) {
  const header = ctx.get('authorization');
  if (/^basic\s/i.test(header)) {
    let clientId;
    try {
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      clientId = decodeURIComponent(decoded.slice(0, decoded.indexOf(':')).replace(/\+/g, '%20'));
    } catch {
      return undefined;
    }
    return { method: 'client_secret_basic', clientId };
  }
  if (form.has('client_secret')) {
    return { method: 'client_secret_post', clientId: form.get('client_id') };
  }
  return undefined;
}

function countTokenRequest(grantType) {
  stats.token_requests += 1;
  const label = typeof grantType === 'string' && grantType ? grantType : 'unknown';
  stats.token_requests_by_grant[label] = (stats.token_requests_by_grant[label] || 0) + 1;
}

provider.use(async (ctx, next) => {
  const { path, method } = ctx;

  if (path === '/api/whoami' && method === 'GET') {
    await whoami(ctx);
    return;
  }
  if (path === '/__stats' && method === 'GET') {
    sendJson(ctx, 200, stats);
    return;
  }
  if (path === '/__reset' && method === 'POST') {
    resetStats();
    sendJson(ctx, 200, stats);
    return;
  }
  if (path === '/__revoke_refresh' && method === 'POST') {
    const sub = ctx.query.sub === undefined ? undefined : String(ctx.query.sub);
    sendJson(ctx, 200, { revoked: destroyRefreshTokens(sub) });
    return;
  }

  if (method === 'POST' && CLIENT_AUTH_PATHS.has(path)) {
    let form;
    if (ctx.is('application/x-www-form-urlencoded')) {
      // Read the body here and hand it to oidc-provider as an already-parsed body (it uses
      // req.body when the stream was consumed), so the grant type and the client authentication
      // method can be seen before the request is processed.
      let raw;
      try {
        raw = await readRawBody(ctx.req);
      } catch {
        sendJson(ctx, 400, { error: 'invalid_request', error_description: 'unreadable body' });
        return;
      }
      ctx.req.body = raw;
      form = new URLSearchParams(raw);
    }
    if (path === '/token') {
      countTokenRequest(form?.get('grant_type'));
      const seen = {};
      for (const [key, value] of form || []) if (key !== 'client_secret') seen[key] = value;
      stats.last_token_params = seen;
    }
    if (strictClientAuth && form) {
      const used = usedSecretMethod(ctx, form);
      const registered = used && clientsById.get(used.clientId)?.token_endpoint_auth_method;
      if (
        used
        && ['client_secret_basic', 'client_secret_post'].includes(registered)
        && registered !== used.method
      ) {
        ctx.set('WWW-Authenticate', 'Basic realm="token"');
        sendJson(ctx, 401, {
          error: 'invalid_client',
          error_description: `client authentication failed: client is registered with ${registered}, the request used ${used.method}`,
        });
        return;
      }
    }
  }

  await next();

  if (path === '/me' && (method === 'GET' || method === 'POST')) {
    stats.userinfo_requests += 1;
  }
});

if (process.env.OAUTH_SERVER_DEBUG) {
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.on('grant.error', (ctx, err) => console.error('grant.error', err));
  provider.on('authorization.error', (ctx, err) => console.error('authorization.error', err));
}

// ---------------------------------------------------------------------------------------------

const server = http.createServer(provider.callback());

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(port, HOST, () => {
  process.stdout.write(`READY ${issuer}\n`);
});
