"""OAuth 2.0 client side (SPEC §7): authorization links, the code flow, token refresh.

Named after what it implements: `rfc6749` (authorization code grant and refresh as a
client), `rfc7636` (PKCE)."""
