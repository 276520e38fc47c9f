"""Schemathesis fuzzing of the real server, authenticated, against the document it serves.

Each backend (SQLite; PostgreSQL when AUTHRELAY_TEST_POSTGRES_URL is set) gets its own
server on a fresh store, so the generated data cannot disturb other tests. Every generated
case is sent to each of them (generating is most of the cost: once, not once per backend).
Two passes:

- every operation with positive (schema-valid) and negative (schema-invalid) cases;
- the operations that name a resource again, on resources that exist (a custom provider,
  a connection and a connected account made for each operation on each backend; a case
  generated for the first backend's resources names each other backend's own when it is
  sent there), so the cases get past the
  lookups into validation, updates and the proxy. The provider's proxy_url is a local
  recording upstream: proxied cases reach it and nothing else (the test checks that no
  other provider was ever used).

Each response must be no server error, and have a status, a content type, headers and a
body that the document declares for the operation; schema-invalid input must be refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import BACKENDS, new_backend
from tests.support.resources import api_key_provider, create_account, create_connection, static
from tests.support.resources import create_provider as create_custom_provider
from tests.support.servers import Server, create_client, start_server
from tests.support.upstream import RecordingUpstream

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
]
#: examples per operation and generation mode, in each pass
EXAMPLES = 17
#: distinct generated cases the test must have run, each on every backend
MIN_CASES = 2000
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
SEEDED = ("identifier", "connection_id", "account_id", "connector", "user")
ACCOUNT_LOOKUPS = {"/api/v1/connected_accounts/auth", "/api/v1/connected_accounts/details"}


@pytest.fixture(scope="module")
def fuzz_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for name in BACKENDS:
            data = tmp_path_factory.mktemp(f"fuzz-{name}")
            servers.append(start_server(new_backend(name, data / "data"), data))
        yield servers
    finally:
        for srv in servers:
            srv.stop()


@pytest.fixture(scope="module")
def fuzz_upstream() -> Iterator[RecordingUpstream]:
    upstream = RecordingUpstream().start()
    yield upstream
    upstream.stop()


def _takes_input(operation: Any) -> bool:
    """Whether there is anything to make invalid (negative cases need a parameter or body)."""
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


def _path_parameters(operation: Any) -> set[str]:
    return {p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"}


@dataclass
class Target:
    """One backend's server, its token and, in the seeded pass, its seeded resources."""

    server: Server
    headers: dict[str, str]
    seed: dict[str, str] = field(default_factory=dict)


class Fuzzer:
    def __init__(self, targets: list[Target]) -> None:
        self.targets = targets
        self.session = requests.Session()
        self.cases = 0
        self.failures: list[str] = []

    def run(self, operation: Any, mode: GenerationMode, label: str, **fixed: Any) -> None:
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, **fixed))
        def test(case: Any) -> None:
            self.cases += 1
            first = self.targets[0]
            original = {part: _copy(getattr(case, part)) for part in RETARGETED}
            try:
                for target in self.targets:
                    _retarget(case, original, first.seed, target.seed)
                    case.call_and_validate(
                        base_url=target.server.url,
                        session=self.session,
                        headers=target.headers,
                        checks=CHECKS,
                        timeout=30,
                    )
            finally:
                _retarget(case, original, {}, {})

        try:
            test()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE or not fixed:
                raise  # only a negative pass with everything fixed may have nothing to vary
        except (Exception, BaseExceptionGroup) as exc:  # collect every failure, report all
            self.failures.append(f"{operation.label} [{label}, {mode.value}]: {exc}")


#: the parts of a case that name seeded resources
RETARGETED = ("path_parameters", "query", "headers")


def _copy(part: Any) -> Any:
    return dict(part) if isinstance(part, dict) else part


def _retarget(
    case: Any, original: dict[str, Any], old: dict[str, str], new: dict[str, str]
) -> None:
    """The case as generated, with every value naming a resource of `old` (the backend it
    was generated for) naming the same resource of `new` instead."""
    swap = {old[name]: new[name] for name in old if old[name] != new[name]}
    for part, values in original.items():
        if isinstance(values, dict):
            values = {k: swap.get(v, v) if isinstance(v, str) else v for k, v in values.items()}
        setattr(case, part, _copy(values))


def _seed(api: httpx.Client, upstream: RecordingUpstream) -> dict[str, str]:
    """A custom provider (proxying to the local upstream), a connection and an account."""
    tag = secrets.token_hex(4)
    provider = api_key_provider(f"Fuzz {tag}")
    provider["proxy_url"] = f"{upstream.url}/fuzz"
    identifier = create_custom_provider(api, provider)
    connection = create_connection(api, {"provider_key": identifier, "key_id": f"fuzz-{tag}"})
    account = create_account(api, f"fuzz-{tag}", f"user-{tag}", static(api_key=f"key-{tag}"))
    return {
        "identifier": identifier,
        "connection_id": connection["id"],
        "account_id": account["id"],
        "connector": f"fuzz-{tag}",
        "user": f"user-{tag}",
    }


def _fixed_for(operation: Any, seed: dict[str, str]) -> dict[str, Any]:
    """What to hold fixed so the cases name the seeded resources (empty: nothing to seed)."""
    fixed: dict[str, Any] = {}
    path_parameters = {n: seed[n] for n in _path_parameters(operation) if n in seed}
    if operation.path.startswith("/proxy/"):
        fixed["headers"] = {"connection_name": seed["connector"], "identifier": seed["user"]}
    elif path_parameters:
        fixed["path_parameters"] = path_parameters
    elif operation.path in ACCOUNT_LOOKUPS:
        fixed["query"] = {"connector": seed["connector"], "identifier": seed["user"]}
    return fixed


def test_fuzz_every_operation(fuzz_servers: list[Server], fuzz_upstream: RecordingUpstream) -> None:
    upstream = fuzz_upstream
    clients = [create_client(srv.backend, "dev") for srv in fuzz_servers]
    targets = [
        Target(srv, {"Authorization": f"Bearer {srv.token(client)}"})
        for srv, client in zip(fuzz_servers, clients, strict=True)
    ]
    fuzzer = Fuzzer(targets)
    document = httpx.get(f"{fuzz_servers[0].url}/openapi.json").json()
    for srv in fuzz_servers[1:]:  # one document, so that one set of cases fits every backend
        assert httpx.get(f"{srv.url}/openapi.json").json() == document
    operations = [
        result.ok() for result in schemathesis.openapi.from_dict(document).get_all_operations()
    ]
    for operation in operations:
        for mode in MODES if _takes_input(operation) else MODES[:1]:
            fuzzer.run(operation, mode, "random")
    apis = [srv.api(client) for srv, client in zip(fuzz_servers, clients, strict=True)]
    try:
        for operation in operations:
            if not _fixed_for(operation, dict.fromkeys(SEEDED, "x")):
                continue
            for mode in MODES:
                for target, api in zip(targets, apis, strict=True):
                    target.seed = _seed(api, upstream)
                fuzzer.run(operation, mode, "seeded", **_fixed_for(operation, targets[0].seed))
        proxy_urls = set().union(*(_all_proxy_urls(api) for api in apis))
    finally:
        for api in apis:
            api.close()
    assert not fuzzer.failures, "\n\n".join(fuzzer.failures)
    assert fuzzer.cases >= MIN_CASES, fuzzer.cases
    assert upstream.requests  # the seeded proxy cases reached the local upstream
    # Fuzzing stayed on loopback: the proxy can only call the upstream of a connection, and
    # every connection there is (seeded or generated) leads to the local upstream.
    assert proxy_urls and all(url.startswith(upstream.url) for url in proxy_urls), proxy_urls
    for srv in fuzz_servers:
        assert "Traceback" not in srv.log_text()


def _all_proxy_urls(api: httpx.Client) -> set[str]:
    urls: set[str] = set()
    token = ""
    while True:
        page = api.get("/api/v1/connections/app", params={"page_size": 30, "page_token": token})
        assert page.status_code == 200, page.text
        urls |= {c["resolved_proxy_url"] for c in page.json()["connections"]}
        token = page.json()["next_page_token"]
        if not token:
            return urls
