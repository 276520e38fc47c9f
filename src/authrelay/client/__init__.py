"""The Python client for authrelay (and Scalekit-compatible servers).

`authrelay.Client` / `authrelay.AsyncClient` are the entry points; `authrelay.client.models`
holds the typed answers."""
