"""The hash verified against for an unknown email costs what a real user's hash costs."""

from __future__ import annotations

import pytest
from argon2.exceptions import VerifyMismatchError

from authrelay.dashboard import users


def test_dummy_hash_has_the_hashers_parameters() -> None:
    real = users._hasher.hash("a long test passphrase")
    assert users._DUMMY_HASH.split("$")[:4] == real.split("$")[:4]  # type, version, m/t/p
    assert not users._hasher.check_needs_rehash(users._DUMMY_HASH)
    # A full argon2 computation that does not match (a malformed hash would fail early).
    with pytest.raises(VerifyMismatchError):
        users._hasher.verify(users._DUMMY_HASH, "a long test passphrase")
