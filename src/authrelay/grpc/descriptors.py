"""The gRPC methods the gateway serves, read from the FileDescriptorSet shipped beside this
module (`scalekit.binpb`, made by scripts/grpc-descriptors from Scalekit's Python SDK; see
NOTICE). The set is loaded into a pool of its own, not protobuf's default pool, so the server
never imports the SDK and a process that does (the tests) keeps the two apart; message
classes come from `message_factory.GetMessageClass`."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.resources import files

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

DESCRIPTOR_FILE = "scalekit.binpb"
#: The protobuf packages whose services are served; the set also holds services of files
#: these import (domains, webauthn), which authrelay has no concept of.
SERVED_PACKAGES = frozenset(
    {
        "scalekit.v1.connected_accounts",
        "scalekit.v1.tools",
        "scalekit.v1.mcp",
        "scalekit.v1.providers",
        "scalekit.v1.connections",
        "scalekit.v1.agentkit_logs",
    }
)
ERROR_INFO = "scalekit.v1.errdetails.ErrorInfo"


@dataclass(frozen=True)
class Binding:
    """One REST operation of a method: an HTTP verb, a path template (`/api/v1/x/{field}`)
    and what carries the body (`""`: no body, `"*"`: every field not in the path, else one
    field's name)."""

    verb: str
    template: str
    body: str


@dataclass(frozen=True)
class GrpcMethod:
    """A served method: its path (`/package.Service/Method`), message classes and REST
    bindings (the `google.api.http` rule, then its additional bindings)."""

    path: str
    input: type[Message]
    output: type[Message]
    bindings: tuple[Binding, ...]

    @property
    def name(self) -> str:
        return self.path[1:]


def _binding(rule: http_pb2.HttpRule) -> Binding | None:
    pattern = rule.WhichOneof("pattern")
    if pattern is None or pattern == "custom":
        return None
    return Binding(pattern.upper(), getattr(rule, pattern), rule.body)


def _bindings(options: descriptor_pb2.MethodOptions) -> tuple[Binding, ...]:
    if not options.HasExtension(annotations_pb2.http):
        return ()
    rule = options.Extensions[annotations_pb2.http]
    found = [_binding(rule), *(_binding(extra) for extra in rule.additional_bindings)]
    return tuple(b for b in found if b is not None)


@dataclass(frozen=True)
class Catalog:
    """The pool, its served methods by path, and message classes by full name."""

    pool: descriptor_pool.DescriptorPool
    methods: dict[str, GrpcMethod]

    def message_class(self, full_name: str) -> type[Message]:
        return _message_class(self.pool.FindMessageTypeByName(full_name))


def _message_class(descriptor: Descriptor) -> type[Message]:
    made: type[Message] = message_factory.GetMessageClass(descriptor)
    return made


def read_set(data: bytes) -> Catalog:
    """A catalog of the serialized FileDescriptorSet `data`."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(data)
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:
        pool.Add(file)
    methods: dict[str, GrpcMethod] = {}
    for file in fds.file:
        if file.package not in SERVED_PACKAGES:
            continue
        for service in file.service:
            service_name = f"{file.package}.{service.name}"
            for method in service.method:
                if method.client_streaming or method.server_streaming:
                    continue  # none in the served packages; unary only
                found = pool.FindMethodByName(f"{service_name}.{method.name}")
                path = f"/{service_name}/{method.name}"
                methods[path] = GrpcMethod(
                    path,
                    _message_class(found.input_type),
                    _message_class(found.output_type),
                    _bindings(method.options),
                )
    return Catalog(pool, methods)


@functools.cache
def shipped() -> Catalog:
    """The catalog of the shipped descriptors (read once per process)."""
    return read_set(files("authrelay.grpc").joinpath(DESCRIPTOR_FILE).read_bytes())
