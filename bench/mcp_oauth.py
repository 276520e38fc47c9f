"""MCP sign-in benchmark (docs/benchmarks.md, "MCP OAuth"): an MCP `tools/call` with an
access token issued by the MCP authorization server against the same call with a session
token minted through the API (the two are the same kind of JWT, so they should cost the
same), and the latency of the authorization server's metadata and dynamic registration.

    .venv/bin/python bench/mcp_oauth.py [--rounds 7] [--requests 300] [--instructions]
                                        [--out FILE]

The server, its tool and the MCP config come from bench/tool_setup.py. The OAuth token is
obtained the way an MCP host does: the protected resource metadata names the issuer,
dynamic registration, the authorization endpoint with PKCE, the login hand-off (played here
with the SDK's `authrelay_client.handoff` and the secret `authrelay env login` printed), the
token endpoint. Latencies are taken in interleaved rounds; the medians of the rounds' p50s
are reported. Each registration creates a client row, as a real one does. With
`--instructions` the server runs under callgrind and the instructions per request of each
call are counted instead (bench/instructions.py): the comparison that a busy machine does not
blur.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from mcp_server import MCP_HEADERS, _rpc
from run import IDENTIFIER, VENV_BIN, HarnessError
from tool_setup import (
    TOOL,
    Call,
    add_tools,
    count_instructions,
    interleaved,
    machine_load,
    mcp_config,
    tool_bench,
)

from authrelay_client import handoff

REDIRECT = "http://127.0.0.1:9/callback"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def handoff_secret(data_dir: Path) -> str:
    """Turn on the login hand-off of the benchmark's environment; its secret."""
    shown = subprocess.run(
        [str(VENV_BIN / "authrelay"), "env", "login", "dev", "--data-dir", str(data_dir),
         "--handoff-url", "http://127.0.0.1:9/login", "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if shown.returncode != 0:
        raise HarnessError(f"authrelay env login failed: {shown.stderr}")
    return str(json.loads(shown.stdout)["handoff_secret"])


def oauth_token(api: httpx.Client, url: str, secret: str) -> tuple[str, str]:
    """(issuer, access token) for `url`, signed in as the benchmark's user."""
    path = urlsplit(url).path
    issuer = api.get(f"/.well-known/oauth-protected-resource{path}").json()[
        "authorization_servers"
    ][0]
    client_id = api.post(f"{issuer}/register", json={"redirect_uris": [REDIRECT]}).json()[
        "client_id"
    ]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "resource": url,
        "state": "bench",
    }
    first = api.get(f"{issuer}/authorize", params=params)
    if first.status_code != 302:
        raise HarnessError(f"authorize answered {first.status_code}: {first.text[:300]}")
    request = handoff.verify_request(secret, _query(first.headers["location"])["authrelay_request"])
    assertion = handoff.build_assertion(secret, request["rid"], IDENTIFIER)
    back = api.get(request["return_to"], params={"assertion": assertion})
    if back.status_code != 302:
        raise HarnessError(f"the hand-off answered {back.status_code}: {back.text[:300]}")
    form = {
        "grant_type": "authorization_code",
        "code": _query(back.headers["location"])["code"],
        "code_verifier": verifier,
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "resource": url,
    }
    answer = api.post(f"{issuer}/token", data=form)
    if answer.status_code != 200:
        raise HarnessError(f"the token endpoint answered {answer.status_code}: {answer.text}")
    return str(issuer), str(answer.json()["access_token"])


def _register(api: httpx.Client, url: str, body: dict[str, object]) -> httpx.Response:
    """One registration; its 201 counts as success for `timed` (which wants 200)."""
    answer = api.post(url, json=body)
    if answer.status_code != 201:
        raise HarnessError(f"registration answered {answer.status_code}: {answer.text[:300]}")
    answer.status_code = 200
    return answer


def calls(api: httpx.Client, url: str, issuer: str, session: str, oauth: str) -> dict[str, Call]:
    call = _rpc("tools/call", {"name": TOOL, "arguments": {"x": "1"}})
    with_session = {**MCP_HEADERS, "Authorization": f"Bearer {session}"}
    with_oauth = {**MCP_HEADERS, "Authorization": f"Bearer {oauth}"}
    env_path = urlsplit(issuer).path
    metadata = f"/.well-known/oauth-authorization-server{env_path}"
    registration = {"redirect_uris": [REDIRECT], "client_name": "bench"}
    return {
        "tools/call, session token": lambda: api.post(url, json=call, headers=with_session),
        "tools/call, OAuth token": lambda: api.post(url, json=call, headers=with_oauth),
        "AS metadata": lambda: api.get(metadata),
        "dynamic registration": lambda: _register(api, f"{issuer}/register", registration),
        "GET /readyz (the floor)": lambda: api.get("/readyz"),
    }


def check(named: dict[str, Call]) -> None:
    for label in ("tools/call, session token", "tools/call, OAuth token"):
        answer = named[label]().json()
        if answer.get("result", {}).get("isError") is not False:
            raise HarnessError(f"{label} failed: {json.dumps(answer)[:300]}")
    if named["AS metadata"]().status_code != 200:
        raise HarnessError("the authorization server metadata failed")
    named["dynamic registration"]()


def render(latency: dict[str, list[float]], load: str) -> str:
    med = statistics.median
    session, oauth = latency["tools/call, session token"], latency["tools/call, OAuth token"]
    diffs = [b - a for a, b in zip(session, oauth, strict=True)]
    lines = [
        f"Machine at the start: {load}.",
        "",
        "| measure (p50 at 1 connection, median of the rounds) | result | target |",
        "|---|---:|---:|",
        f"| MCP `tools/call`, session token | {med(session):.2f} ms | |",
        f"| MCP `tools/call`, OAuth-issued token | {med(oauth):.2f} ms | |",
        f"| difference (OAuth − session) | {med(diffs):+.2f} ms | within 0.2 ms |",
        f"| authorization server metadata | {med(latency['AS metadata']):.2f} ms | < 5 ms |",
        f"| dynamic registration | {med(latency['dynamic registration']):.2f} ms | < 5 ms |",
        f"| `GET /readyz`, the floor on this machine now | "
        f"{med(latency['GET /readyz (the floor)']):.2f} ms | |",
    ]
    return "\n".join(lines)


def render_instructions(counts: dict[str, float]) -> str:
    diff = counts["tools/call, OAuth token"] - counts["tools/call, session token"]
    return "\n".join(
        ["| call | instructions per request |", "|---|---:|"]
        + [f"| {k} | {v:,.0f} |" for k, v in counts.items()]
        + [f"| tools/call: OAuth − session token | {diff:+,.0f} |"]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    try:
        with tool_bench(args.instructions) as bench:
            load = machine_load()
            add_tools(bench.api, 1)
            url, session = mcp_config(bench.api)
            secret = handoff_secret(bench.tmp / "authrelay-data")
            issuer, oauth = oauth_token(bench.api, url, secret)
            named = calls(bench.api, url, issuer, session, oauth)
            check(named)
            if args.instructions:
                pid = bench.server.process.pid
                counts = count_instructions(pid, bench.tmp, named, args.requests)
                text = render_instructions(counts)
            else:
                sizes = dict.fromkeys(named, args.requests)
                latency = interleaved(named, args.rounds, sizes)
                text = render(latency, load) + "\n\nraw: " + json.dumps(latency)
    except HarnessError as exc:
        print(f"MCP OAuth benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
