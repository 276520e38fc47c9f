"""authrelay-client stands alone: its wheel, installed into a clean virtual environment with
only its declared dependency closure beside it, imports and builds a client without loading
any part of the server or the server's dependencies. The test also measures what such an
install weighs (docs/client.md quotes the number).

Nothing is downloaded: the wheel is built from ./client with the build backend already in
the project's .venv, and the closure (walked through the wheel's Requires-Dist and each
dependency's own, in the installed metadata) is copied from the .venv's site-packages."""

from __future__ import annotations

import email.parser
import importlib.metadata
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CLIENT = Path(__file__).resolve().parents[2] / "client"
FORBIDDEN = ("fastapi", "starlette", "sqlalchemy", "aiohttp", "uvicorn", "pydantic_settings")
SERVER_DISTRIBUTIONS = {"authrelay", "fastapi", "starlette", "sqlalchemy", "aiohttp", "uvicorn"}

PROBE = """
import importlib.util, json, sys
import authrelay_client
import authrelay_client.models, authrelay_client.providers.model, authrelay_client.providers.diff
client = authrelay_client.Client("http://127.0.0.1:9", "client-id", "client-secret")
client.close()
aclient = authrelay_client.AsyncClient("http://127.0.0.1:9", "client-id", "client-secret")
print(json.dumps({
    "file": authrelay_client.__file__,
    "modules": sorted({name.split(".")[0] for name in sys.modules}),
    "server_importable": [name for name in ("authrelay", "fastapi", "sqlalchemy")
                          if importlib.util.find_spec(name) is not None],
}))
"""


def _run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _build_wheel(tmp: Path) -> Path:
    source = tmp / "client"  # a copy: building writes build/ and *.egg-info next to the sources
    shutil.copytree(
        CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    wheels = tmp / "wheels"
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    _run(*pip, "wheel", "--no-deps", "--no-index", "--no-build-isolation", "-w", wheels, source,
         cwd=tmp)  # fmt: skip
    (wheel,) = wheels.glob("authrelay_client-*.whl")
    return wheel


def _requirements(metadata: str) -> list[Requirement]:
    """The unconditional requirements (no extra) of a METADATA text."""
    message = email.parser.Parser().parsestr(metadata)
    wanted = []
    for line in message.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            wanted.append(requirement)
    return wanted


def _closure(requirements: list[Requirement]) -> dict[str, importlib.metadata.Distribution]:
    """Every installed distribution the requirements pull in, by canonical name."""
    found: dict[str, importlib.metadata.Distribution] = {}
    queue = list(requirements)
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        distribution = importlib.metadata.distribution(name)
        assert distribution.version in requirement.specifier, (requirement, distribution.version)
        found[name] = distribution
        queue.extend(_requirements(distribution.read_text("METADATA") or ""))
    return found


def _copy_distribution(distribution: importlib.metadata.Distribution, target: Path) -> int:
    """Copies a distribution's installed files (as its RECORD lists them) into `target`;
    returns their size in bytes."""
    size = 0
    for file in distribution.files or []:
        if file.parts[0] == ".." or file.suffix == ".pyc":  # scripts outside site-packages
            continue
        path = Path(str(distribution.locate_file(file)))
        if not path.is_file():
            continue
        destination = target / file
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
        size += path.stat().st_size
    return size


def _tree_size(root: Path, names: list[str]) -> int:
    return sum(
        path.stat().st_size
        for name in names
        for path in (root / name).rglob("*")
        if path.is_file() and path.suffix != ".pyc"
    )


def test_the_wheel_imports_without_the_server(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(
            archive.read(name).decode()
            for name in archive.namelist()
            if name.endswith(".dist-info/METADATA")
        )
        assert all(not name.startswith("authrelay/") for name in archive.namelist())
    declared = _requirements(metadata)
    assert {canonicalize_name(r.name) for r in declared} == {"httpx", "pydantic"}
    closure = _closure(declared)
    assert not SERVER_DISTRIBUTIONS & set(closure), sorted(closure)

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python,
         "install", "--no-deps", "--no-index", "--no-compile", wheel, cwd=tmp_path)  # fmt: skip
    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path)
        .strip()
    )  # fmt: skip
    deps = tmp_path / "deps"
    deps_size = sum(_copy_distribution(d, deps) for d in closure.values())
    (site / "authrelay-client-deps.pth").write_text(f"{deps}\n")

    answer = json.loads(_run(python, "-I", "-c", PROBE, cwd=tmp_path))
    assert Path(answer["file"]).is_relative_to(site), answer["file"]
    assert answer["server_importable"] == []
    loaded = set(answer["modules"])
    assert "authrelay_client" in loaded and "httpx" in loaded and "pydantic" in loaded
    assert not loaded & {*FORBIDDEN, "authrelay"}, sorted(loaded & {*FORBIDDEN, "authrelay"})

    own = [p.name for p in site.iterdir() if p.name.startswith("authrelay_client")]
    total = _tree_size(site, own) + deps_size
    megabytes = total / 1_000_000
    print(f"authrelay-client installed: {len(closure) + 1} distributions, {megabytes:.1f} MB")
    assert megabytes < 25, f"the client's install grew to {megabytes:.1f} MB"
