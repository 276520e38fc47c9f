"""The shipped descriptors: what scripts/grpc-descriptors makes from the pinned SDK, loaded
into a pool of the gateway's own, without importing the SDK."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool

from authrelay.grpc.descriptors import SERVED_PACKAGES, shipped

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_set_is_what_the_script_makes(tmp_path: Path) -> None:
    out = tmp_path / "made.binpb"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/grpc-descriptors"), "--output", str(out)],
        check=True,
        capture_output=True,
    )
    shipped_bytes = files("authrelay.grpc").joinpath("scalekit.binpb").read_bytes()
    assert out.read_bytes() == shipped_bytes


def test_set_holds_the_services_and_everything_they_import() -> None:
    raw = files("authrelay.grpc").joinpath("scalekit.binpb").read_bytes()
    fds = descriptor_pb2.FileDescriptorSet.FromString(raw)
    names = [f.name for f in fds.file]
    for needed in (
        "scalekit/v1/errdetails/errdetails.proto",
        "google/api/annotations.proto",
        "buf/validate/validate.proto",
        "protoc-gen-openapiv2/options/annotations.proto",
        "scalekit/v1/options/options.proto",
    ):
        assert needed in names
    seen: set[str] = set()
    for file in fds.file:  # each file after its imports: the set loads in order
        assert set(file.dependency) <= seen, file.name
        seen.add(file.name)
    assert SERVED_PACKAGES <= {f.package for f in fds.file}


def test_own_pool_not_the_default_one() -> None:
    catalog = shipped()
    assert catalog.pool is not descriptor_pool.Default()
    method = catalog.methods["/scalekit.v1.tools.ToolService/ExecuteTool"]
    assert method.input.DESCRIPTOR.file.pool is catalog.pool
    assert [(b.verb, b.template, b.body) for b in method.bindings] == [
        ("POST", "/api/v1/execute_tool", "*")
    ]


def test_the_server_does_not_import_the_sdk() -> None:
    code = (
        "import sys\n"
        "from authrelay.app import create_app\n"
        "from authrelay.grpc.descriptors import shipped\n"
        "assert len(shipped().methods) > 70\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scalekit', 'grpc')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
