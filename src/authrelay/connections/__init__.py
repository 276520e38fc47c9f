"""Connections: a provider enabled in an environment under a connection name (SPEC §5)."""
