"""HTTP routers. Handlers parse, call one service function and return JSON."""
