// Drives @scalekit-sdk/node against an authrelay server: its 15 Agent Auth calls, in order.
// Run by test_node_sdk.py (conftest.run_driver) with the config as one JSON line on stdin and
// SCALEKIT_NODE_SDK naming the installed package. For user verification it prints
// {"authorize": link, "identifier": who} and reads back the auth_request_id the user's way
// through the link ended with (the test plays the user). Its last line is one JSON object:
// for each step, what the SDK answered (`ok`) or what it threw (`error`: class, base classes,
// gRPC code, message). No handler for uncaught errors is installed: a crash (say
// ERR_HTTP2_ERROR) must end the process and fail the test.
"use strict";

const readline = require("node:readline");
const sdk = require(process.env.SCALEKIT_NODE_SDK);
const stdinLines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function readLine() {
  const { value, done } = await stdinLines.next();
  if (done) throw new Error("stdin closed");
  return value;
}

async function authorized(link, who) {
  process.stdout.write(JSON.stringify({ authorize: link, identifier: who }) + "\n");
  return JSON.parse(await readLine()).auth_request_id;
}

function plain(value) {
  if (value === undefined || value === null) return value;
  if (value && value.status !== undefined && value.data !== undefined && value.headers) {
    return { status: value.status, json: value.data }; // an axios response (actions.request)
  }
  return JSON.parse(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? String(v) : v)));
}

function failure(error) {
  const classes = [];
  for (let proto = Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor && proto.constructor.name) classes.push(proto.constructor.name);
  }
  return {
    class: error.constructor ? error.constructor.name : typeof error,
    classes,
    grpc_status: error._grpcStatus === undefined ? null : error._grpcStatus,
    error_code: error._errorCode === undefined ? null : error._errorCode,
    message: String(error.message || error).slice(0, 2000),
  };
}

async function main() {
  const cfg = JSON.parse(await readLine());
  const results = {};
  const run = async (name, call) => {
    try {
      const answer = await call();
      results[name] = { ok: plain(answer) };
      return answer;
    } catch (error) {
      results[name] = { error: failure(error) };
      return undefined;
    }
  };
  const { connection: conn, identifier: who, tool, unique: u } = cfg;
  const other = `node-other-${u}`;
  const key = { details: { case: "staticAuth", value: { details: { api_key: "k-node-1" } } } };

  const client = new sdk.ScalekitClient(cfg.env_url, cfg.client_id, cfg.client_secret);
  const core = client.coreClient;
  let authentications = 0;
  const authenticate = core.authenticateClient.bind(core);
  core.authenticateClient = async () => {
    authentications += 1;
    return authenticate();
  };
  const ca = client.connectedAccounts;
  const tools = client.tools;
  const actions = client.actions;

  // The first call goes out with no token: the server must answer UNAUTHENTICATED (16),
  // then the SDK fetches a token and sends the call again.
  const tokenBefore = Boolean(core.accessToken);
  await run("connectedAccounts.createConnectedAccount", () =>
    ca.createConnectedAccount({
      connector: conn,
      identifier: who,
      connectedAccount: { authorizationDetails: key },
    }),
  );
  results["first_call"] = {
    ok: { token_before: tokenBefore, token_after: Boolean(core.accessToken), authentications },
  };
  await run("connectedAccounts.getConnectedAccountByIdentifier", () =>
    ca.getConnectedAccountByIdentifier({ connector: conn, identifier: who }),
  );
  await run("connectedAccounts.listConnectedAccounts", () =>
    ca.listConnectedAccounts({ connector: conn, identifier: who }),
  );
  await run("connectedAccounts.updateConnectedAccount", () =>
    ca.updateConnectedAccount({
      connector: conn,
      identifier: who,
      connectedAccount: { apiConfig: { region: "eu" } },
    }),
  );
  await run("connectedAccounts.getMagicLinkForConnectedAccount", () =>
    ca.getMagicLinkForConnectedAccount({ connector: conn, identifier: who, state: "st-1" }),
  );
  await run("connectedAccounts.verifyConnectedAccountUser", () =>
    ca.verifyConnectedAccountUser({ authRequestId: "bm90LWEtcmVxdWVzdA", identifier: who }),
  );
  await run("connectedAccounts.getOrCreateConnectedAccount", () =>
    ca.getOrCreateConnectedAccount({ connector: conn, identifier: other, authorizationDetails: key }),
  );
  await run("connectedAccounts.deleteConnectedAccount", () =>
    ca.deleteConnectedAccount({ connector: conn, identifier: other }),
  );
  await run("connectedAccounts.listConnectedAccounts(after delete)", () =>
    ca.listConnectedAccounts({ connector: conn }),
  );

  await run("tools.listTools", () => tools.listTools({ filter: { toolName: [tool] } }));
  await run("tools.listScopedTools", () =>
    tools.listScopedTools(who, { filter: { connectionNames: [conn] } }),
  );
  // every page: the server's store is shared with other tests, so the tool may be on any
  await run("tools.listAvailableTools", async () => {
    const pages = [];
    let pageToken;
    do {
      const page = await tools.listAvailableTools(who, { pageSize: 100, pageToken });
      pages.push(page);
      pageToken = page.nextPageToken;
    } while (pageToken && pages.length < 100);
    const all = pages.flatMap((page) => page.tools);
    const mine = all.filter((t) => JSON.stringify(plain(t)).includes(tool));
    return { pages: pages.length, count: all.length, tools: mine };
  });
  await run("tools.executeTool", () =>
    tools.executeTool({
      toolName: tool,
      identifier: who,
      params: { owner: "node", limit: 3 },
      connector: conn,
    }),
  );

  await run("connection.listAppConnections", () =>
    client.connection.listAppConnections({ provider: cfg.provider }),
  );
  await run("actions.listConnections", () => actions.listConnections({ provider: cfg.provider }));
  await run("actions.request", () =>
    actions.request({
      connectionName: conn,
      identifier: who,
      path: "/owners/req/items",
      method: "POST",
      body: { a: 1 },
    }),
  );

  // User verification after an OAuth authorization (the test plays the user)
  const oconn = cfg.oauth_connection;
  const verified = `node-verified-${u}@example.com`;
  const link = await run("connectedAccounts.getMagicLinkForConnectedAccount(verify)", () =>
    ca.getMagicLinkForConnectedAccount({
      connector: oconn,
      identifier: verified,
      state: "st-node",
      userVerifyUrl: cfg.verify_url,
    }),
  );
  if (link !== undefined) {
    const requestId = await authorized(link.link, verified);
    await run("connectedAccounts.verifyConnectedAccountUser(verified)", () =>
      ca.verifyConnectedAccountUser({ authRequestId: requestId, identifier: verified }),
    );
    await run("connectedAccounts.getConnectedAccountByIdentifier(verified)", () =>
      ca.getConnectedAccountByIdentifier({ connector: oconn, identifier: verified }),
    );
    await run("tools.executeTool(verified)", () =>
      tools.executeTool({
        toolName: cfg.oauth_tool,
        identifier: verified,
        params: { owner: "verified-node" },
        connector: oconn,
      }),
    );
    await run("actions.request(verified)", () =>
      actions.request({
        connectionName: oconn,
        identifier: verified,
        path: "/owners/verified-node-req/items",
        method: "GET",
      }),
    );
  }

  // Error paths
  await run("error.unknown_account", () =>
    ca.getConnectedAccountByIdentifier({ connector: conn, identifier: `nobody-${u}` }),
  );
  await run("error.bad_input", () =>
    tools.executeTool({ toolName: tool, identifier: who, params: { limit: "many" }, connector: conn }),
  );
  await run("error.upstream_4xx", () =>
    tools.executeTool({
      toolName: cfg.status_tool,
      identifier: who,
      params: { code: 404 },
      connector: conn,
    }),
  );
  core.accessToken = cfg.expired_token; // as if the token's hour had passed
  const before = authentications;
  await run("error.expired_token", () => tools.listTools({ filter: { toolName: [tool] } }));
  results["error.expired_token.renewed"] = {
    ok: {
      authentications: authentications - before,
      renewed: core.accessToken !== cfg.expired_token,
    },
  };
  // exit only once the results are written: process.exit() drops what a pipe has not taken
  await new Promise((done) => process.stdout.write(JSON.stringify(results), done));
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(String((error && error.stack) || error));
    process.exit(1);
  },
);
