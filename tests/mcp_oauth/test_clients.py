"""Registered clients in the API (`/api/v1/mcp/oauth/clients`) and the CLI (`authrelay mcp
clients`): listed, pre-registered, disabled (its grants end), enabled, deleted; and the
per-environment switches of `authrelay env login`."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx

from tests.support.mcp_oauth_flow import REDIRECT, Flow
from tests.support.mcp_oauth_team import TeamApp, running, setup_config, sign_in_environment
from tests.support.servers import Server, run_cli
from tests.support.upstream import RecordingUpstream

CLIENTS = "/api/v1/mcp/oauth/clients"


async def test_clients_in_the_api_and_the_cli(
    server: Server, upstream: RecordingUpstream, unique: str
) -> None:
    async with running(TeamApp(user="alice")) as team, httpx.AsyncClient(timeout=30) as http:
        env = sign_in_environment(server, f"cl-{unique}", team)
        with server.api(env.client) as api:
            _, _, config = setup_config(api, upstream, unique, "alice")
            flow = Flow(http, env, config["mcp_server_url"])
            dynamic = await flow.register()
            code, verifier = await flow.code(team)
            refresh = (await flow.exchange(code, verifier)).json()["refresh_token"]
            listed = api.get(CLIENTS).json()["clients"]
            assert [(c["client_id"], c["kind"], c["disabled"]) for c in listed] == [
                (dynamic, "dcr", False)
            ]
            shown = run_cli(server.backend, "mcp", "clients", "list", env.name, "--json")
            assert [c["client_id"] for c in json.loads(shown.stdout)] == [dynamic]
            # disabled: no sign-in, and its grant ends
            run_cli(server.backend, "mcp", "clients", "disable", env.name, dynamic)
            refused = await flow.authorize()
            assert refused.status_code == 400 and "disabled" in refused.text
            assert (await flow.refresh(refresh)).json()["error"] == "invalid_grant"
            enabled = api.patch(f"{CLIENTS}/{dynamic}", json={"disabled": False})
            assert enabled.status_code == 200 and enabled.json()["client"]["disabled"] is False
            assert (await flow.authorize()).status_code == 302
            # pre-registered by the team, then used like any other
            made = api.post(CLIENTS, json={"client_name": "ops", "redirect_uris": [REDIRECT]})
            assert made.status_code == 201, made.text
            flow.client_id = made.json()["client"]["client_id"]
            code, verifier = await flow.code(team)
            assert (await flow.exchange(code, verifier)).status_code == 200
            bad = api.post(CLIENTS, json={"redirect_uris": ["http://evil.example/cb"]})
            assert bad.status_code == 400
            assert api.delete(f"{CLIENTS}/{quote(flow.client_id)}").status_code == 200
            assert (await flow.authorize()).status_code == 400
            assert api.delete(f"{CLIENTS}/{flow.client_id}").status_code == 404
            gone = run_cli(
                server.backend, "mcp", "clients", "delete", env.name, "nope", check=False
            )
            assert gone.returncode != 0 and "no MCP OAuth client" in gone.stdout + gone.stderr


async def test_registration_switches(server: Server, unique: str) -> None:
    async with running(TeamApp()) as team, httpx.AsyncClient(timeout=30) as http:
        env = sign_in_environment(server, f"sw-{unique}", team)
        shown = json.loads(run_cli(server.backend, "env", "login", env.name, "--json").stdout)
        assert shown == {
            "environment": env.name,
            "sign_in": "handoff",
            "handoff_url": team.url,
            "handoff_jwks_url": None,
            "oidc_issuer": None,
            "oidc_client_id": None,
            "identifier_claim": None,
            "oidc_redirect_uri": shown["oidc_redirect_uri"],
            "dynamic_client_registration": True,
            "client_id_metadata_documents": True,
        }
        assert shown["oidc_redirect_uri"].endswith(f"/mcp-oauth/{env.id}/oidc/callback")
        run_cli(server.backend, "env", "login", env.name, "--no-dcr", "--no-cimd")
        meta = (
            await http.get(
                f"{server.url}/.well-known/oauth-authorization-server/mcp-oauth/{env.id}"
            )
        ).json()
        assert "registration_endpoint" not in meta
        assert meta["client_id_metadata_document_supported"] is False
        closed = await http.post(f"{env.issuer}/register", json={"redirect_uris": [REDIRECT]})
        assert closed.status_code == 403 and closed.json()["error"] == "access_denied"
        flow = Flow(http, env, f"{server.url}/mcp/v3/servers/cfg_x")
        flow.client_id = "https://localhost:1/client.json"
        refused = await flow.authorize()
        assert refused.status_code == 400 and "metadata documents are off" in refused.text
        bad = run_cli(
            server.backend, "env", "login", env.name, "--handoff-url", "ftp://x", check=False
        )
        assert bad.returncode != 0
