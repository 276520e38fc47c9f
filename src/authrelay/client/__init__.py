"""The Python client for authrelay (and Scalekit-compatible servers)."""
