"""Hosted pages: authorization links, the static-credentials form, the OAuth callback."""
