"""A corpus of real, public OpenAPI documents, fetched from the npm registry at test time
(npm pack, cached between runs) rather than shipped:

* `@readme/oas-examples` (MIT, © ReadMe): 60 example and real documents, Swagger 2.0,
  OpenAPI 3.0 and 3.1 (petstore, Star Trek, USPTO, ReadMe's own API, Train Travel, …);
* `@blockfrost/openapi` (MIT, © Blockfrost): the Blockfrost Cardano API (YAML, 129 ops);
* `@octokit/openapi` (MIT, © GitHub): GitHub's REST API (13 MB, 1,200+ operations).
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

from tests.support.locks import interprocess_lock

PACKAGES = {
    "@readme/oas-examples": "8.2.2",
    "@blockfrost/openapi": "0.1.93",
    "@octokit/openapi": "23.0.2",
}
CACHE = Path(os.environ.get("AUTHRELAY_TEST_CACHE", Path.home() / ".cache" / "authrelay-tests"))


def _unpacked(name: str, version: str) -> Path:
    with interprocess_lock("corpus"):  # one download at a time (pytest-xdist workers)
        return _unpack(name, version)


def _unpack(name: str, version: str) -> Path:
    folder = CACHE / f"{name.replace('/', '_').lstrip('@')}-{version}"
    if (folder / "package" / "package.json").exists():
        return folder / "package"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--pack-destination", str(folder), "--silent"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    archive = next(folder.glob("*.tgz"))
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    archive.unlink()
    return folder / "package"


def documents() -> list[Path]:
    """Every document of the corpus (at least 30)."""
    readme = _unpacked("@readme/oas-examples", PACKAGES["@readme/oas-examples"])
    docs = [p for v in ("2.0", "3.0", "3.1") for p in sorted((readme / v / "json").glob("*.json"))]
    docs.append(_unpacked("@blockfrost/openapi", PACKAGES["@blockfrost/openapi"]) / "openapi.yaml")
    github = _unpacked("@octokit/openapi", PACKAGES["@octokit/openapi"])
    docs.append(github / "generated" / "api.github.com.json")
    return docs
