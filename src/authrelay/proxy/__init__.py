"""The tool proxy (SPEC §8): `{env_url}/proxy/{path}` forwards to the provider's API with the
connected account's credentials injected."""
