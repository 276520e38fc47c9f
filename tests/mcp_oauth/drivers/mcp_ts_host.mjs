// An MCP host written with the official TypeScript SDK (@modelcontextprotocol/sdk, the
// version tests/mcp_oauth/test_sdk_clients.py pins and installs under .cache/): given only the
// MCP URL on stdin ({url, tool, redirect, sdk}), its OAuth provider discovers the
// authorization server from the 401, registers dynamically, signs in (the "browser" follows
// the redirects through the team's login hand-off and allows on authrelay's consent page),
// then tools/list and tools/call; then it
// spoils its access token so the SDK must refresh. Prints one JSON object of results.
import { pathToFileURL } from 'node:url';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const cfg = JSON.parse(await readStdin());
const base = `${cfg.sdk}/node_modules/@modelcontextprotocol/sdk/dist/esm/client/`;
const { Client } = await import(pathToFileURL(`${base}index.js`).href);
const { StreamableHTTPClientTransport } = await import(pathToFileURL(`${base}streamableHttp.js`).href);
const { UnauthorizedError } = await import(pathToFileURL(`${base}auth.js`).href);

class HostProvider {
  constructor() {
    this.info = undefined;
    this.saved = undefined;
    this.verifier = '';
    this.callback = null;
    this.visited = [];
  }
  get redirectUrl() { return cfg.redirect; }
  get clientMetadata() {
    return {
      redirect_uris: [cfg.redirect],
      client_name: 'TypeScript SDK host',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  // The user's browser: follow the redirects up to the host's redirect URI, keeping the
  // cookies set on the way; on authrelay's consent page the user clicks Allow.
  async redirectToAuthorization(url) {
    const jar = new Jar();
    let next = url.toString();
    for (let step = 0; step < 8; step += 1) {
      if (next.startsWith(cfg.redirect)) {
        this.callback = Object.fromEntries(new URL(next).searchParams);
        return;
      }
      const parsed = new URL(next);
      this.visited.push(parsed.origin + parsed.pathname);
      let answer = await jar.fetch(next, {});
      if (answer.status === 200 && parsed.pathname.includes('/consent/')) {
        const page = await answer.text();
        const token = page.match(/name="csrf_token" value="([^"]+)"/);
        if (!token) throw new Error(`no csrf_token on the consent page: ${page}`);
        const form = new URLSearchParams({ csrf_token: token[1], decision: 'allow' });
        answer = await jar.fetch(next, { method: 'POST', body: form });
      }
      if (answer.status !== 302 && answer.status !== 303) {
        throw new Error(`sign-in stopped: ${answer.status} ${await answer.text()}`);
      }
      next = new URL(answer.headers.get('location'), next).toString();
    }
    throw new Error('too many redirects');
  }
}

// Just enough of a browser's cookie jar: name=value per origin and path prefix.
class Jar {
  constructor() { this.cookies = []; }
  async fetch(url, init) {
    const target = new URL(url);
    const sent = this.cookies
      .filter((c) => c.origin === target.origin && target.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`);
    const headers = sent.length ? { cookie: sent.join('; ') } : {};
    const answer = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of answer.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const path = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) || '/';
      this.cookies = this.cookies.filter((c) => !(c.origin === target.origin && c.name === name && c.path === path));
      this.cookies.push({ origin: target.origin, name, path, value: pair.slice(at + 1) });
    }
    return answer;
  }
}

async function connect(provider) {
  const client = new Client({ name: 'ts-sdk-host', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(cfg.url), { authProvider: provider }));
  return client;
}

const provider = new HostProvider();
const results = { unauthorized_first: false };
const first = new StreamableHTTPClientTransport(new URL(cfg.url), { authProvider: provider });
try {
  await new Client({ name: 'ts-sdk-host', version: '1.0.0' }).connect(first);
} catch (error) {
  if (!(error instanceof UnauthorizedError)) throw error;
  results.unauthorized_first = true;
  await first.finishAuth(provider.callback.code);
}
let client = await connect(provider);
results.tools = (await client.listTools()).tools.map((tool) => tool.name);
const args = { owner: 'o', limit: 1, title: 't' };
const called = await client.callTool({ name: cfg.tool, arguments: args });
results.is_error = Boolean(called.isError);
results.client_id = provider.info.client_id;
results.callback = provider.callback;
results.visited = provider.visited;
await client.close();
// an access token the server refuses: the SDK refreshes with the refresh token (rotated)
const oldRefresh = provider.saved.refresh_token;
provider.saved = { ...provider.saved, access_token: 'not-a-valid-token' };
client = await connect(provider);
const again = await client.callTool({ name: cfg.tool, arguments: args });
results.after_refresh_is_error = Boolean(again.isError);
results.refresh_rotated = Boolean(provider.saved.refresh_token) && provider.saved.refresh_token !== oldRefresh;
await client.close();
process.stdout.write(JSON.stringify(results));
