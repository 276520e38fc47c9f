"""API credentials: client secrets (hashed), and signed JWT access tokens (RFC 7519)."""
