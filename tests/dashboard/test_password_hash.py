"""The hash verified against for an unknown email costs what a real user's hash costs."""

from __future__ import annotations

import pytest
from argon2.exceptions import VerifyMismatchError

from authrelay.dashboard import passwords


def test_dummy_hash_has_the_hashers_parameters() -> None:
    real = passwords.hasher.hash("a long test passphrase")
    assert passwords.DUMMY_HASH.split("$")[:4] == real.split("$")[:4]  # type, version, m/t/p
    assert not passwords.hasher.check_needs_rehash(passwords.DUMMY_HASH)
    # A full argon2 computation that does not match (a malformed hash would fail early).
    with pytest.raises(VerifyMismatchError):
        passwords.hasher.verify(passwords.DUMMY_HASH, "a long test passphrase")
