"""Schemathesis fuzzing of the real server, authenticated, against the document it serves.

Each backend (SQLite; PostgreSQL when AUTHRELAY_TEST_POSTGRES_URL is set) gets its own
server on a fresh store, so the generated data cannot disturb other tests. Every operation
is fuzzed with positive (schema-valid) and negative (schema-invalid) cases; each response
must be no server error, and have a status, a content type and a body that the document
declares for that operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
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
from tests.support.servers import Server, create_client, start_server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
]
#: examples per operation and generation mode; with ~35 operations this is > 2,000 cases
#: per backend (the test asserts the count it actually ran)
EXAMPLES = 10
MIN_CASES = 1000
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    srv = start_server(new_backend(str(request.param), data / "data"), data)
    yield srv
    srv.stop()


def _takes_input(operation: Any) -> bool:
    """Whether there is anything to make invalid (negative cases need a parameter or body)."""
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


def _fuzz_operation(
    operation: Any, mode: GenerationMode, base_url: str, token: str, session: requests.Session
) -> int:
    ran = 0

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal ran
        ran += 1
        case.call_and_validate(
            base_url=base_url,
            session=session,
            headers={"Authorization": f"Bearer {token}"},
            checks=CHECKS,
            timeout=30,
        )

    run()
    return ran


def test_fuzz_every_operation(fuzz_server: Server, tmp_path: Path) -> None:
    client = create_client(fuzz_server.backend, "dev")
    token = fuzz_server.token(client)
    document = httpx.get(f"{fuzz_server.url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    cases = 0
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES if _takes_input(operation) else MODES[:1]:
            try:
                cases += _fuzz_operation(operation, mode, fuzz_server.url, token, session)
            except (Exception, BaseExceptionGroup) as exc:  # collect every failure, report all
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)
    assert cases >= MIN_CASES, cases
    assert "Traceback" not in fuzz_server.log_text()
