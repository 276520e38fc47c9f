"""Who is calling: the API client and the environment its token is scoped to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    environment_id: str
    client_id: str
