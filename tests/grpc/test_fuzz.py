"""The gRPC surface under arbitrary input: method paths, frames (random, truncated,
oversized, compressed) and valid messages of every served method built from the
descriptors with random field values. Every call ends with a gRPC status in the trailers of
a 200 answer, never INTERNAL, never a stack; the application keeps answering."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authrelay.grpc.descriptors import shipped
from tests.support.grpc_asgi import Collected, InProcessApp, frame
from tests.support.scalekit_messages import CA

METHODS = sorted(shipped().methods)
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.TYPE_STRING: st.text(max_size=40),
    FieldDescriptor.TYPE_BYTES: st.binary(max_size=40),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
    FieldDescriptor.TYPE_DOUBLE: st.floats(allow_nan=False, allow_infinity=False),
    FieldDescriptor.TYPE_FLOAT: st.floats(width=32, allow_nan=False, allow_infinity=False),
}
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _fill(data: st.DataObject, message: Any, depth: int) -> None:
    """Random values in some of `message`'s fields, nested messages to `depth`."""
    descriptor: Descriptor = message.DESCRIPTOR
    if descriptor.full_name == "google.protobuf.Struct":
        message.update(data.draw(st.dictionaries(st.text(max_size=8), _JSON, max_size=3)))
        return
    if descriptor.full_name == "google.protobuf.Timestamp":
        message.seconds = data.draw(st.integers(0, 253402300799))
        return
    for field in descriptor.fields:
        if not data.draw(st.booleans()):
            continue
        repeated = field.is_repeated
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry or depth <= 0:
                continue
            if field.message_type.full_name in (
                "google.protobuf.Value",
                "google.protobuf.ListValue",
            ):
                continue
            target = getattr(message, field.name)
            _fill(data, target.add() if repeated else target, depth - 1)
        elif field.type == FieldDescriptor.TYPE_ENUM:
            numbers = [v.number for v in field.enum_type.values]
            value = data.draw(st.sampled_from(numbers) | st.integers(0, 50))
            if repeated:
                getattr(message, field.name).append(value)
            else:
                setattr(message, field.name, value)
        elif field.type in _SCALARS:
            value = data.draw(_SCALARS[field.type])
            if repeated:
                getattr(message, field.name).append(value)
            else:
                setattr(message, field.name, value)


def _answered(answer: Collected) -> None:
    assert answer.status == 200, answer.status
    assert answer.announced_trailers
    assert answer.messages[-1] == "http.response.trailers"
    assert answer.grpc_status != 13, answer.grpc_message
    assert 0 <= answer.grpc_status <= 16
    everything = b"".join(v for _, v in answer.trailers)
    assert b"Traceback" not in everything and b'File "' not in everything


@SETTINGS
@given(data=st.data())
def test_valid_messages_of_every_method(
    inproc: InProcessApp, token: str, data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(METHODS))
    message = shipped().methods[path].input()
    _fill(data, message, depth=2)
    _answered(inproc.grpc(path, frame(message.SerializeToString()), token=token))


@SETTINGS
@given(
    path=st.one_of(
        st.sampled_from(METHODS),
        st.text(min_size=0, max_size=60).map(lambda t: "/" + t),
        st.sampled_from(METHODS).map(lambda m: m + "x"),
    ),
    body=st.one_of(
        st.binary(max_size=200),
        st.binary(max_size=200).map(frame),
        st.binary(max_size=200).map(lambda b: frame(b)[: max(0, len(b) // 2)]),
        st.tuples(st.integers(0, 255), st.integers(0, 2**32 - 1), st.binary(max_size=50)).map(
            lambda t: bytes([t[0]]) + t[1].to_bytes(4, "big") + t[2]
        ),
    ),
    pieces=st.integers(1, 4),
    authorized=st.booleans(),
    timeout=st.sampled_from([None, "1n", "5S", "bogus"]),
)
def test_arbitrary_paths_and_frames(
    inproc: InProcessApp,
    token: str,
    path: str,
    body: bytes,
    pieces: int,
    authorized: bool,
    timeout: str | None,
) -> None:
    size = max(1, len(body) // pieces)
    chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    headers = [("grpc-timeout", timeout)] if timeout else []
    answer = inproc.grpc(path, chunks, token=token if authorized else None, headers=headers)
    _answered(answer)


def test_still_answering_after_the_fuzz(inproc: InProcessApp, token: str) -> None:
    answer = inproc.grpc(CA + "ListConnectedAccounts", frame(b""), token=token)
    assert answer.grpc_status == 0
