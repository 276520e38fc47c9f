"""The MCP server (SPEC §9): MCP configs, session tokens, and the Streamable HTTP endpoints
built on the official `mcp` SDK. Always imported as `authrelay.mcp`; the SDK is `mcp`."""
