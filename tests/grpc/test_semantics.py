"""gRPC's semantics at the gateway: statuses and their encoding, deadlines, message size
caps, framing, unknown methods, and a failure inside the gateway answered without a stack."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterator

import pytest
from google.protobuf import struct_pb2
from google.rpc import status_pb2

from authrelay.grpc import adapters
from authrelay.grpc.descriptors import shipped
from authrelay.grpc.framing import timeout_seconds
from authrelay.grpc.status import GrpcError, percent_encode, trailers
from authrelay_client.codes import Code
from tests.support.grpc_asgi import InProcessApp, frame, status_of, unframe
from tests.support.scalekit_messages import CA, PROVIDERS, TOOLS, ca, error_info, pv, tl
from tests.support.servers import Backend, create_client

LIST_ACCOUNTS = CA + "ListConnectedAccounts"


def test_grpc_message_is_percent_encoded() -> None:
    assert percent_encode("plain text: ok") == "plain text: ok"
    assert percent_encode("100% sure") == "100%25 sure"
    assert percent_encode("naïve\nline") == "na%C3%AFve%0Aline"


def test_trailers_of_an_error() -> None:
    error = GrpcError(
        Code.FAILED_PRECONDITION,
        "stale etag ✓",
        [{"@type": "type.googleapis.com/authrelay.v1.Other", "n": 1}],
    )
    found = dict(trailers(shipped(), error))
    assert found[b"grpc-status"] == b"9"
    assert found[b"grpc-message"] == b"stale etag %E2%9C%93"
    raw = found[b"grpc-status-details-bin"]
    assert not raw.endswith(b"=")
    status = status_pb2.Status.FromString(base64.b64decode(raw + b"=" * (-len(raw) % 4)))
    assert (status.code, status.message) == (9, "stale etag ✓")
    assert error_info(status).error_code == "FAILED_PRECONDITION"
    own = struct_pb2.Struct()
    assert status.details[1].Unpack(own)
    assert own["@type"] == "type.googleapis.com/authrelay.v1.Other" and own["n"] == 1
    assert trailers(shipped(), None) == [(b"grpc-status", b"0")]


@pytest.mark.parametrize(
    ("value", "seconds"), [(b"20S", 20.0), (b"100m", 0.1), (b"1H", 3600.0), (b"5n", 5e-9)]
)
def test_grpc_timeout_units(value: bytes, seconds: float) -> None:
    assert timeout_seconds(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [b"", b"20", b"S", b"123456789S", b"1.5S", b"-1S", b"1s"])
def test_malformed_grpc_timeout(value: bytes) -> None:
    with pytest.raises(GrpcError):
        timeout_seconds(value)


def test_deadline_cancels_the_call(inproc: InProcessApp, token: str, setup: dict[str, str]) -> None:
    params = struct_pb2.Struct()
    params.update({"s": 5})
    request = tl.ExecuteToolRequest(
        tool_name="grpc_slow", identifier="user-1", connector="grpc-tools", params=params
    )
    answer = inproc.grpc(
        TOOLS + "ExecuteTool",
        frame(request.SerializeToString()),
        token=token,
        headers=[("grpc-timeout", "300m")],
    )
    assert answer.grpc_status == 4, answer.grpc_message
    assert "deadline" in status_of(answer).message
    fast = inproc.grpc(LIST_ACCOUNTS, frame(b""), token=token, headers=[("grpc-timeout", "20S")])
    assert fast.grpc_status == 0


def test_malformed_timeout_header_answers(inproc: InProcessApp, token: str) -> None:
    answer = inproc.grpc(LIST_ACCOUNTS, frame(b""), token=token, headers=[("grpc-timeout", "x")])
    assert answer.grpc_status == 3


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessApp, str]]:
    """An application whose gRPC messages may be at most 1 KiB each way."""
    backend = Backend("sqlite", tmp_path_factory.mktemp("grpc-small"))
    app = InProcessApp(backend, grpc_max_message_bytes=1024).start()
    yield app, app.token(create_client(backend))
    app.stop()


def test_request_over_the_cap(small: tuple[InProcessApp, str]) -> None:
    app, token = small
    request = ca.ListConnectedAccountsRequest(query="x" * 1100)
    answer = app.grpc(LIST_ACCOUNTS, frame(request.SerializeToString()), token=token)
    assert answer.grpc_status == 8
    assert "request message is larger than 1024" in answer.grpc_message
    # The cap holds however the body arrives, and before any of it is parsed.
    chunks = [b"\x00\xff\xff\xff\xff"] + [b"x" * 300] * 5
    assert app.grpc(LIST_ACCOUNTS, chunks, token=token).grpc_status == 8


def test_response_over_the_cap(small: tuple[InProcessApp, str]) -> None:
    app, token = small
    request = pv.ListProvidersRequest(page_size=50)
    answer = app.grpc(PROVIDERS + "ListProviders", frame(request.SerializeToString()), token=token)
    assert answer.grpc_status == 8
    assert "response message is larger than 1024" in answer.grpc_message
    assert answer.body == b""


def test_a_body_in_many_pieces(inproc: InProcessApp, token: str, setup: None) -> None:
    whole = frame(ca.ListConnectedAccountsRequest(connector="grpc-tools").SerializeToString())
    pieces = [whole[i : i + 1] for i in range(len(whole))]
    answer = inproc.grpc(LIST_ACCOUNTS, pieces, token=token)
    assert answer.grpc_status == 0
    listed = ca.ListConnectedAccountsResponse.FromString(unframe(answer.body))
    assert [a.identifier for a in listed.connected_accounts] == ["user-1"]


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (b"", 3, "no complete gRPC message"),
        (b"\x00\x00\x00", 3, "no complete gRPC message"),
        (b"\x00\x00\x00\x00\x09abc", 3, "truncated"),
        (frame(b"") + b"\x00", 3, "followed by more data"),
        (frame(b"") + frame(b""), 3, "followed by more data"),
        (frame(b"", flag=1), 12, "compressed messages are not supported"),
        (frame(b"", flag=7), 3, "invalid gRPC message flag"),
        (frame(b"\xff\xff\xff"), 3, "not a valid"),
    ],
)
def test_malformed_framing(
    inproc: InProcessApp, token: str, body: bytes, code: int, words: str
) -> None:
    answer = inproc.grpc(LIST_ACCOUNTS, body, token=token)
    assert answer.status == 200
    assert answer.grpc_status == code
    assert words in answer.grpc_message
    assert answer.header("grpc-accept-encoding") == "identity"


def test_compressed_with_an_unsupported_encoding(inproc: InProcessApp, token: str) -> None:
    answer = inproc.grpc(
        LIST_ACCOUNTS, frame(b"", flag=1), token=token, headers=[("grpc-encoding", "gzip")]
    )
    assert answer.grpc_status == 12 and "gzip" in answer.grpc_message


@pytest.mark.parametrize(
    "path",
    [
        "/scalekit.v1.nothing.NoService/Call",
        CA + "NoSuchMethod",
        "/scalekit.v1.domains.DomainService/ListDomains",  # in the set, not served
        "/",
        "/x",
    ],
)
def test_unknown_methods_are_unimplemented(inproc: InProcessApp, token: str, path: str) -> None:
    answer = inproc.grpc(path, frame(b""), token=token)
    assert answer.grpc_status == 12
    assert path[1:] in answer.grpc_message


def test_a_path_prefix_is_tolerated(inproc: InProcessApp, token: str) -> None:
    """Scalekit's Node SDK keeps the environment URL's path in front of the method's."""
    answer = inproc.grpc("/authrelay/env" + LIST_ACCOUNTS, frame(b""), token=token)
    assert answer.grpc_status == 0
    unknown = inproc.grpc("/prefix" + CA + "Nothing", frame(b""), token=token)
    assert unknown.grpc_status == 12 and "prefix" in unknown.grpc_message


def test_only_post_and_protobuf(inproc: InProcessApp, token: str) -> None:
    assert inproc.grpc(LIST_ACCOUNTS, frame(b""), token=token, verb="GET").grpc_status == 12
    answer = inproc.grpc(
        LIST_ACCOUNTS, frame(b"{}"), token=token, content_type="application/grpc+json"
    )
    assert answer.grpc_status == 12 and "application/grpc+json" in answer.grpc_message
    proto = inproc.grpc(
        LIST_ACCOUNTS, frame(b""), token=token, content_type="application/grpc+proto"
    )
    assert proto.grpc_status == 0
    assert proto.header("content-type") == "application/grpc+proto"


def test_an_answer_is_start_body_trailers(inproc: InProcessApp, token: str) -> None:
    ok = inproc.grpc(LIST_ACCOUNTS, frame(b""), token=token)
    assert ok.messages == ["http.response.start", "http.response.body", "http.response.trailers"]
    assert ok.status == 200 and ok.announced_trailers
    assert ok.header("content-type") == "application/grpc"
    failed = inproc.grpc(LIST_ACCOUNTS, frame(b""))
    assert failed.messages == ["http.response.start", "http.response.trailers"]
    assert failed.grpc_status == 16


def test_failure_inside_the_gateway_is_internal_without_a_stack(
    inproc: InProcessApp,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(fields: dict[str, object]) -> dict[str, object]:
        raise RuntimeError("secret internal detail")

    monkeypatch.setitem(adapters.ADAPTERS, LIST_ACCOUNTS, adapters.Adapter(request=broken))
    with caplog.at_level(logging.ERROR, logger="authrelay.grpc"):
        answer = inproc.grpc(LIST_ACCOUNTS, frame(b""), token=token)
    assert answer.status == 200
    assert answer.grpc_status == 13
    assert answer.grpc_message == "internal error; see the server log"
    everything = b"".join(v for _, v in answer.trailers) + bytes(answer.body)
    assert b"secret internal detail" not in everything and b"Traceback" not in everything
    assert any(r.message == "grpc gateway failure" and r.exc_info for r in caplog.records)


def test_a_client_gone_mid_body_gets_nothing(inproc: InProcessApp) -> None:

    scope = {
        "type": "http",
        "http_version": "2",
        "method": "POST",
        "path": LIST_ACCOUNTS,
        "headers": [(b"content-type", b"application/grpc"), (b"host", b"127.0.0.1:8080")],
    }

    async def run() -> list[str]:
        sent: list[str] = []
        calls = 0

        async def receive() -> dict[str, object]:
            nonlocal calls
            calls += 1
            if calls == 1:
                return {"type": "http.request", "body": b"\x00\x00", "more_body": True}
            await asyncio.sleep(0)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, object]) -> None:
            sent.append(str(message["type"]))

        await inproc.app(scope, receive, send)  # type: ignore[arg-type]
        return sent

    assert inproc.run(run()) == []
