"""Who is calling: the API client and the environment its token is scoped to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    environment_id: str
    client_id: str
    #: who the audit log names when it is not the API client (a dashboard user's email)
    actor_name: str | None = None

    @property
    def actor(self) -> str:
        return self.actor_name or self.client_id
