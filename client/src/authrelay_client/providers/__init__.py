"""The provider-definition contract shared by the client and the server: the definition model
(`model`), the URL rules it applies (`urls`), the upstream allow-list it is checked against
(`allowlist`), the editable-field diff (`diff`) and identifier derivation (`identifiers`).
The server's catalog, validation report and storage stay in `authrelay.providers`."""
