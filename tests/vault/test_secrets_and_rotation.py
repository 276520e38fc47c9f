"""Planted secrets appear only where they must (the /auth call, the upstream), never in
logs, list/details responses, errors, the audit log or the raw database; and `keys rotate`
re-encrypts everything while every credential stays readable."""

from __future__ import annotations

import json

from tests.support.proxy import enable, proxy_headers
from tests.support.rawdb import raw_bytes, rows
from tests.support.servers import Server, run_cli
from tests.support.upstream import RecordingUpstream, provider_definition


def test_planted_secrets_stay_secret_and_survive_rotation(
    server: Server, dev_client: dict[str, str], upstream: RecordingUpstream, unique: str
) -> None:
    secrets = {
        "api_key": f"PLANTED-apikey-{unique}",
        "password": f"PLANTED-password-{unique}",
        "username": f"PLANTED-username-{unique}",
        "token": f"PLANTED-bearer-{unique}",
        "access": f"PLANTED-access-{unique}",
        "refresh": f"PLANTED-refresh-{unique}",
        "client_secret": f"PLANTED-clientsecret-{unique}",
    }
    with server.api(dev_client) as api:
        enable(
            api,
            provider_definition(f"Sec Key {unique}", upstream),
            f"sk-{unique}",
            "u",
            {"api_key": secrets["api_key"]},
        )
        basic = provider_definition(
            f"Sec Basic {unique}",
            upstream,
            type="BASIC",
            fields=[
                {"field_name": "username"},
                {"field_name": "password", "input_type": "password"},
                {"field_name": "region"},
            ],
        )
        enable(
            api,
            basic,
            f"sb-{unique}",
            "u",
            {"username": secrets["username"], "password": secrets["password"], "region": "eu"},
        )
        enable(
            api,
            provider_definition(f"Sec Bearer {unique}", upstream, type="BEARER"),
            f"st-{unique}",
            "u",
            {"token": secrets["token"]},
        )
        oauth = provider_definition(
            f"Sec OAuth {unique}",
            upstream,
            type="OAUTH",
            fields=[],
            oauth_config={"authorize_uri": f"{upstream.url}/a", "token_uri": f"{upstream.url}/t"},
        )
        enable(
            api,
            oauth,
            f"so-{unique}",
            "u",
            oauth_token={"access_token": secrets["access"], "refresh_token": secrets["refresh"]},
        )
        conn_id = api.get(f"/api/v1/connections/so-{unique}").json()["connection"]["id"]
        patched = api.patch(
            f"/api/v1/connections/{conn_id}",
            json={"oauth_config": {"client_id": "cid", "client_secret": secrets["client_secret"]}},
        )
        assert patched.status_code == 200, patched.text

        outputs = []
        for conn in (f"sk-{unique}", f"sb-{unique}", f"st-{unique}", f"so-{unique}"):
            assert api.get("/proxy/v1/x", headers=proxy_headers(conn, "u")).status_code == 200
            outputs.append(
                api.get(
                    "/api/v1/connected_accounts/details",
                    params={"connector": conn, "identifier": "u"},
                ).text
            )
            outputs.append(
                api.put(
                    "/api/v1/connected_accounts",
                    json={
                        "connector": conn,
                        "identifier": "u",
                        "connected_account": {"api_config": {"note": "x"}},
                    },
                ).text
            )
        outputs.append(api.get("/api/v1/connected_accounts", params={"page_size": 100}).text)
        outputs.append(api.get("/api/v1/connected_accounts:search", params={"query": unique}).text)
        outputs.append(api.get("/api/v1/connections/app").text)
        outputs.append(patched.text)
        outputs.append(api.get("/api/v1/audit-logs", params={"page_size": 1000}).text)
        # errors: a refused update that carries a secret in a bad place
        bad = api.put(
            "/api/v1/connected_accounts",
            json={
                "connector": f"sk-{unique}",
                "identifier": "u",
                "connected_account": {
                    "authorization_details": {
                        "static_auth": {"details": {"unknown": secrets["api_key"], "api_key": 5}}
                    }
                },
            },
        )
        assert bad.status_code == 400
        outputs.append(bad.text)
        bad = api.post(
            "/api/v1/connected_accounts",
            json={
                "connector": f"sk-{unique}",
                "identifier": "u",
                "connected_account": {
                    "authorization_details": {
                        "static_auth": {"details": {"api_key": secrets["api_key"]}}
                    }
                },
            },
        )
        assert bad.status_code == 409
        outputs.append(bad.text)
        auth = {
            conn: api.get(
                "/api/v1/connected_accounts/auth", params={"connector": conn, "identifier": "u"}
            ).json()
            for conn in (f"sk-{unique}", f"sb-{unique}", f"st-{unique}", f"so-{unique}")
        }

    revealed = json.dumps(auth)
    for name in ("api_key", "password", "username", "token", "access", "refresh"):
        assert secrets[name] in revealed, name  # the one call that returns credentials
    haystacks = {"responses": "\n".join(outputs), "log": server.log_text()}
    stored = raw_bytes(server.backend)
    for name, value in secrets.items():
        for where, text in haystacks.items():
            assert value not in text, (name, where)
        assert value.encode() not in stored, (name, "database")

    before = {
        t: r
        for t, r in rows(
            server.backend, ["connected_accounts", "connections", "signing_keys"]
        ).items()
    }
    old_kids = {
        str(r.get("secret_ct") or r.get("private_key_ct")).split(".")[1]
        for rs in before.values()
        for r in rs
        if r.get("secret_ct") or r.get("private_key_ct")
    }
    report = json.loads(run_cli(server.backend, "keys", "rotate", "--json").stdout)
    new_kid = report["primary_key"]
    assert new_kid not in old_kids and sum(report["reencrypted"].values()) >= 6
    after = rows(server.backend, ["connected_accounts", "connections", "signing_keys"])
    ciphertexts = [
        str(r.get("secret_ct") or r.get("private_key_ct"))
        for rs in after.values()
        for r in rs
        if r.get("secret_ct") or r.get("private_key_ct")
    ]
    assert ciphertexts and all(ct.split(".")[1] == new_kid for ct in ciphertexts)

    # the running server reads the re-encrypted secrets (it picks up the rotated key file)
    with server.api(dev_client) as api:
        again = {
            conn: api.get(
                "/api/v1/connected_accounts/auth", params={"connector": conn, "identifier": "u"}
            ).json()
            for conn in auth
        }
        for k in auth:
            assert again[k] == auth[k], (again[k], auth[k])
        enable(
            api,
            provider_definition(f"Sec After {unique}", upstream),
            f"sa-{unique}",
            "u",
            {"api_key": "after-rotation"},
        )
        assert api.get("/proxy/v1/x", headers=proxy_headers(f"sa-{unique}", "u")).status_code == 200
    newest = rows(server.backend, ["connected_accounts"])["connected_accounts"]
    assert all(str(r["secret_ct"]).split(".")[1] == new_kid for r in newest if r["secret_ct"])
