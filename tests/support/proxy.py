"""Creating a provider, a connection and a connected account through the real API."""

from __future__ import annotations

from typing import Any

import httpx


def enable(
    api: httpx.Client,
    definition: dict[str, Any],
    connection: str,
    identifier: str,
    details: dict[str, Any] | None = None,
    *,
    oauth_token: dict[str, Any] | None = None,
    api_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    created = api.post("/api/v1/custom-providers", json=definition)
    assert created.status_code == 201, created.text
    provider = created.json()["provider"]
    response = api.post(
        "/api/v1/connections",
        params={"flags.is_app": "true"},
        json={"provider_key": provider["identifier"], "key_id": connection},
    )
    assert response.status_code == 201, response.text
    authorization: dict[str, Any] = (
        {"oauth_token": oauth_token} if oauth_token else {"static_auth": {"details": details or {}}}
    )
    body: dict[str, Any] = {
        "connector": connection,
        "identifier": identifier,
        "connected_account": {"authorization_details": authorization},
    }
    if api_config is not None:
        body["connected_account"]["api_config"] = api_config
    response = api.post("/api/v1/connected_accounts", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["connected_account"])


def proxy_headers(connection: str, identifier: str, **extra: str) -> dict[str, str]:
    return {"connection_name": connection, "identifier": identifier, **extra}
