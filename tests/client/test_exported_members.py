"""`authrelay_client.__all__` is the client's public contract (as httpx's is tested): every
name in it exists and is public, and every public name of the package is in it."""

from __future__ import annotations

from types import ModuleType

import authrelay_client


def test_every_name_in_all_exists_and_is_public() -> None:
    assert authrelay_client.__all__ == sorted(authrelay_client.__all__)
    for name in authrelay_client.__all__:
        assert name == "__version__" or not name.startswith("_"), name
        assert getattr(authrelay_client, name) is not None, name


def test_every_public_name_of_the_package_is_in_all() -> None:
    for name in authrelay_client.__all__:
        getattr(authrelay_client, name)  # the names are imported on first use
    public = {
        name
        for name, value in vars(authrelay_client).items()
        if not name.startswith("_")
        # a subpackage or module of its own (`models`, `providers`) is not a name of __init__
        and not (isinstance(value, ModuleType) and value.__name__.startswith("authrelay_client."))
    }
    assert public == set(authrelay_client.__all__) - {"__version__"}
    assert set(dir(authrelay_client)) >= set(authrelay_client.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        authrelay_client.Clinet  # type: ignore[attr-defined]
    except AttributeError as exc:
        assert "Clinet" in str(exc)
    else:
        raise AssertionError("authrelay_client.Clinet did not raise AttributeError")
